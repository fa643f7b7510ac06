"""Reports: loading stores and JUnit, the gate, terminal renderers and writers."""
