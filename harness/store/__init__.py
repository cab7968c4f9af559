"""Stage: what a run leaves on disk. records.jsonl (one raw record per request), run.json (the manifest) and
atomic writes (atomic_files), the run lock (runlock) and the record types (record_types). The formats are the contract every later stage reads.

May import: errors, host.
"""
