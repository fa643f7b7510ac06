"""A small application whose tests share files, a database and a port between processes:
where the parallel-only failures of this example come from."""
