from isoscan.cli import entry

entry()
