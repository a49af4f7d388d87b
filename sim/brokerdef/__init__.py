"""The broker definition format, sans-IO: one YAML definition drives both the fake broker and the CIC node.

CIC adds a broker from an XML "broker file" placed in ``i3\\ic\\resources\\i3sms\\`` (PureConnect SMS
Technical Reference, "Configure a New Broker"); that format is not public (GAP). smslab has its own format
instead, one YAML file per broker (shipped ones in ``definitions/`` beside this file, described in its
README). The same file tells the fake how to accept an MT and push MOs and DRs, and tells the simulated
CIC node how to send an MT and read MOs and DRs: one definition drives both ends, so a new broker is one
new file.

The format::

    name: generic-form                  # [a-z0-9-]; the shipped file is <name>.yaml
    description: free text
    mt:                                 # how an MT is sent (CIC) and accepted (fake)
      method: POST                      # GET | POST (what the node sends)
      accept_methods: [GET, POST]       # what the fake also accepts (default: method only)
      path: /v1/messages                # default Outgoing Path (the CIC setting overrides it)
      placement: form                   # query | form | json | xml (GET needs query)
      auth: {scheme: basic}             # none | basic | params | bearer | api-key (+ header: X-Key)
      recipients: join                  # single | repeat (name repeated) | join (+ separator: ",")
      recipient_pattern: '\\+?\\d+'      # optional regex every recipient must match (fake side)
      dr_url_param: status_callback     # optional: wire name of the per-message DR URL
      options: {Name: default}          # broker Options the node may set; read as {option.Name}
      params:                           # wire name -> template (json: a path such as /message/text)
        to: "{to}"
        body: "{text}"
        ref: {value: "{correlation}", required: false}
      xml_body: |                       # placement xml only: the body as an XML template
        <send><to>{to}</to><text>{text}</text></send>
    answer:                             # how the answer to an MT says success or failure
      format: json                      # bare | json | xml | status
      body: "{code}"                    # bare only: template over {code} {description} {message_id}
      fields:                           # json/xml only: locators (see locator.py)
        code: /status
        description: /message
        recipient: /messages[]/to
        message_id: /messages[]/id
      success: {status: 200, code: "0", description: Accepted}
      failures:                         # auth bad_request invalid_message credit opt_out rate_limited
        unknown: {status: 500, code: "9", description: Internal error}   # unknown is required
    mo:    {method, path, placement, fields: {wire name: template over {from} {to} {text} {message_id}}}
    dr:    {method, path, placement, fields: {... {message_id} {recipient} {status} {status_code}
            {correlation}}, states: [{status: delivered, code: "0", state: delivered}, ...]}
    text_rules: {max_length: 160, allowed: '<regex for one character>', double: '~='}

MT templates use the vocabulary ``{to} {from} {text} {account.id} {account.login} {account.password}
{dr_url} {reference} {part} {parts} {correlation} {encoding}`` and ``{option.<Name>}``; nothing is
evaluated, and an unknown name is refused when the file is loaded, with the file, the field and the reason.

This package sits below both of its users (``fakes.httpdef``, the fake of kind ``http-broker``, and
``sim.cic``, the CIC node), so neither reaches into the other for it. Public surface:
``load_definition``/``shipped``/``parse_definition`` (loading, ``loader``); ``render_mt``,
``parse_mt_answer``, ``parse_mo``, ``parse_dr`` (the CIC end, ``cic``); ``accept_mt``, ``check_auth``,
``check_text``, ``render_mo``, ``render_dr`` (the broker end, ``broker``); ``success_answer``,
``failure_answer`` (``answer``); ``push_fields`` (``push``); the wire values (``wire``).
"""

from __future__ import annotations

from sim.brokerdef.answer import failure_answer, render_answer, success_answer
from sim.brokerdef.broker import (
    MtRefused,
    ReceivedMt,
    accept_mt,
    check_auth,
    check_text,
    render_dr,
    render_mo,
)
from sim.brokerdef.cic import (
    DR_URI_OPTION,
    Accepted,
    Rejected,
    parse_dr,
    parse_mo,
    parse_mt_answer,
    render_mt,
)
from sim.brokerdef.definition import Definition, Failure
from sim.brokerdef.loader import load_definition, parse_definition, shipped, shipped_names
from sim.brokerdef.push import push_fields
from sim.brokerdef.wire import Account, HttpAnswer, HttpRequest

__all__ = [
    "DR_URI_OPTION",
    "Accepted",
    "Account",
    "Definition",
    "Failure",
    "HttpAnswer",
    "HttpRequest",
    "MtRefused",
    "ReceivedMt",
    "Rejected",
    "accept_mt",
    "check_auth",
    "check_text",
    "failure_answer",
    "load_definition",
    "parse_definition",
    "parse_dr",
    "parse_mo",
    "parse_mt_answer",
    "push_fields",
    "render_answer",
    "render_dr",
    "render_mo",
    "render_mt",
    "shipped",
    "shipped_names",
    "success_answer",
]
