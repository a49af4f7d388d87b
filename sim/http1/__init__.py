"""The lean HTTP/1.1 client (``client``) and its answer parser (``parse``): for the fakes and the benches."""
