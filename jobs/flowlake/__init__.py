"""flowlake: network-flow intelligence on a Delta lakehouse.

Raw flow dumps and passive DNS go from object storage through bronze, silver and gold Delta
tables into recurring reports. `flowlake --help` lists the commands; the README explains them.
"""

__version__ = "0.1.0"
