"""Every outgoing HTTP request of the project goes through this package.

``policy``     one User-Agent, one set of statuses worth retrying, one Retry-After rule
``guard``      one address guard (names resolved once per run, private addresses refused)
``deadline``   wall-clock deadlines that also cut servers trickling one byte at a time
``transport``  a requests adapter that connects to the address the guard vetted
"""
