"""How a run gets trained: the queue, the workers, and the machines they run on.

`mnist_lab.runs` owns the run directory format and `mnist_lab.processes` starting and watching
a process; this package owns the training itself. From the bottom up: `queue_entry` (a run's
``dispatch.json``), `slots` (the training slots of this machine), `fair_queue` (who starts
next), `dispatcher` (starts the local queue's workers), `worker` (trains one run), `executor`
(the interface), `local` and `ray_cluster` (its two implementations). Which executor a launch
uses is chosen above them, in `mnist_lab.launch`.
"""
