//! The container a network namespace belongs to, as its processes' cgroups tell it.

use serde::{Deserialize, Serialize};

/// A container a process runs in, as told by its cgroup path: the runtime and the container's id,
/// and the Kubernetes pod UID when the path names one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerHint {
    /// "docker", "containerd", "cri-o", "podman", "lxc", "systemd-nspawn" or "kubernetes" (a pod
    /// whose runtime the path does not name).
    pub runtime: String,
    /// The container's id (64 hex digits for docker/containerd/cri-o/podman; the name for lxc
    /// and nspawn); `None` when only the pod is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The Kubernetes pod UID, with dashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}
