import time


def test_pool_invoices_sees_only_its_files(shared_dir, pool_name):
    folder = shared_dir / pool_name
    folder.mkdir(exist_ok=True)
    mine = folder / "invoices.json"
    mine.write_text("{}")
    try:
        time.sleep(0.3)
        assert sorted(p.name for p in folder.iterdir()) == ["invoices.json"]
    finally:
        mine.unlink()
