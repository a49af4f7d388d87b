"""Scenarios: the file format (``scenario_file``, ``step_format``, ``expect_format``, ``fields``), running
them against a lab (``steps``, ``runner``) and showing the results (``report``)."""
