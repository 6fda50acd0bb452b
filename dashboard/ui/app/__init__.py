"""What every page shares: page table, identity, widget state, runtime, text escaping, caches."""
