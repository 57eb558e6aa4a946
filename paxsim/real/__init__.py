"""The real runtime: the same pure roles over HTTP on loopback.

* `node`: one node process, an aiohttp server and keep-alive client that
  carries out the roles' effects for real (Persist is fsynced and renamed
  into place before any later effect; timers draw from a seeded stream).
* `relay`: the cluster's network, applying a scenario's latency, loss,
  duplication, partitions and cuts to real HTTP traffic, recording each send,
  delivery and drop on one clock.
* `cluster`: one OS process per node, the fault schedule (SIGKILL crashes,
  restarts on durable or emptied data directories), and the merge of every
  record into one trace in the simulator's format.
* `wire`: the JSON messages nodes exchange (docs/http-protocol.md).
"""
