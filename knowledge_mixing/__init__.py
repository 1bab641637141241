"""Knowledge mixing as plain Python: no KFP types here, so the same code runs in a unit test, in
the KFP local runner and in a pod. The KFP components in `components/` are thin wrappers."""
