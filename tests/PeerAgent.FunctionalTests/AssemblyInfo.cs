// Each test runs registry, containerd and agent processes; on 2 cores, running classes in parallel makes
// them fight for CPU and turns deadlines into flakes. Tests within a class never ran in parallel anyway.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
