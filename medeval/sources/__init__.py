"""Source clients, one module per upstream. Each reads the upstream's real format, from the network or from a
local folder of the same raw records (``--source-dir``, the layout of ``../shared/datakit``)."""
