"""The built-in Workday connector (inbound, with write-back) and its SOAP simulator."""
