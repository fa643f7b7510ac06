import time


def test_export_builds_the_staging_table(pg):
    # Drops and creates a table with a fixed name: another test doing the same at the same
    # moment drops it under this one.
    pg.execute("DROP TABLE IF EXISTS staging_rows")
    pg.execute("CREATE TABLE staging_rows (n int)")
    for i in range(2):
        pg.execute("INSERT INTO staging_rows VALUES (%s)", (i,))
        time.sleep(0.05)
    time.sleep(0.1)
    assert pg.execute("SELECT count(*) FROM staging_rows").fetchone()[0] == 2
    pg.execute("DROP TABLE staging_rows")
