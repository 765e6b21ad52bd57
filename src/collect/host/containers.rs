//! Which container a process runs in, told cheaply from its `/proc/<pid>/cgroup`. These are
//! documented heuristics on the cgroup paths that container runtimes create, not an API:
//!
//! | runtime | cgroup path segment |
//! |---|---|
//! | docker | `/docker/<64 hex>`, `docker-<64 hex>.scope` |
//! | containerd (CRI) | `cri-containerd-<64 hex>.scope` |
//! | CRI-O | `crio-<64 hex>.scope`, `crio-conmon-<64 hex>.scope` |
//! | podman | `libpod-<64 hex>.scope`, `libpod-conmon-<64 hex>.scope` |
//! | LXC | `/lxc/<name>`, `lxc.payload.<name>`, `lxc.monitor.<name>` |
//! | systemd-nspawn | `machine-<name>.scope` (`\x2d` unescaped) |
//! | Kubernetes | `pod<uid>` (cgroupfs) or `kubepods-…-pod<uid_with_underscores>.slice` (systemd), with the container's 64-hex id after it when there is one |
//!
//! Both cgroup v2 (`0::/path`) and v1 (`N:controllers:/path`) files are read; the first line
//! that names a container wins.

pub use crate::sample::ContainerHint;

/// The container hint of a process whose `/proc/<pid>/cgroup` reads `text`; `None` when the
/// paths name none (a host process, a user session, a plain systemd service).
pub fn from_cgroup(text: &str) -> Option<ContainerHint> {
    text.lines().filter_map(|line| line.splitn(3, ':').nth(2)).find_map(from_path)
}

/// The hint of one cgroup path.
fn from_path(path: &str) -> Option<ContainerHint> {
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let pod_uid = segments.iter().find_map(|segment| pod_uid(segment));
    let runtime_id = segments.iter().enumerate().find_map(|(at, segment)| runtime_id(&segments, at, segment));
    match (runtime_id, pod_uid) {
        (Some((runtime, id)), pod_uid) => Some(ContainerHint { runtime: runtime.to_string(), id: Some(id), pod_uid }),
        (None, Some(pod_uid)) => {
            Some(ContainerHint { runtime: "kubernetes".to_string(), id: None, pod_uid: Some(pod_uid) })
        }
        (None, None) => None,
    }
}

/// The runtime and container id a path segment names.
fn runtime_id(segments: &[&str], at: usize, segment: &str) -> Option<(&'static str, String)> {
    const SCOPES: [(&str, &str); 7] = [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-conmon-", "cri-o"),
        ("crio-", "cri-o"),
        ("libpod-conmon-", "podman"),
        ("libpod-", "podman"),
        ("containerd-", "containerd"),
    ];
    if let Some(scope) = segment.strip_suffix(".scope") {
        for (prefix, runtime) in SCOPES {
            if let Some(id) = scope.strip_prefix(prefix).filter(|id| is_container_id(id)) {
                return Some((runtime, id.to_string()));
            }
        }
        if let Some(name) = scope.strip_prefix("machine-").filter(|name| !name.is_empty()) {
            return Some(("systemd-nspawn", unescape_systemd(name)));
        }
    }
    let parent = at.checked_sub(1).and_then(|before| segments.get(before)).copied().unwrap_or("");
    if parent == "docker" && is_container_id(segment) {
        return Some(("docker", segment.to_string()));
    }
    if parent == "lxc" && !segment.is_empty() {
        return Some(("lxc", segment.to_string()));
    }
    for prefix in ["lxc.payload.", "lxc.monitor."] {
        if let Some(name) = segment.strip_prefix(prefix).filter(|name| !name.is_empty()) {
            return Some(("lxc", name.to_string()));
        }
    }
    // The cgroupfs driver of Kubernetes: `/kubepods/<qos>/pod<uid>/<64 hex>`.
    if pod_uid(parent).is_some() && is_container_id(segment) {
        return Some(("kubernetes", segment.to_string()));
    }
    None
}

/// The pod UID a segment names: `pod<uid>` (cgroupfs) or `kubepods[-<qos>]-pod<uid>.slice`
/// (systemd driver, dashes written as underscores).
fn pod_uid(segment: &str) -> Option<String> {
    let uid = match segment.strip_suffix(".slice") {
        Some(slice) if slice.starts_with("kubepods") => slice.rsplit_once("-pod")?.1.replace('_', "-"),
        Some(_) => return None,
        None => segment.strip_prefix("pod")?.to_string(),
    };
    is_uid(&uid).then_some(uid)
}

/// Whether text is a UUID: 8-4-4-4-12 hex digits.
fn is_uid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|group| group.len()).collect();
    lengths == [8, 4, 4, 4, 12] && groups.iter().all(|group| group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether text is a container id as docker, containerd, CRI-O and podman write them: 64 hex digits.
fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

/// Undoes systemd's unit-name escapes (`\x2d` for `-`).
fn unescape_systemd(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("\\x") {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 2..at + 4).and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match code {
            Some(byte) if byte.is_ascii() => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            _ => {
                out.push_str("\\x");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f5e8b0c9a2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f";
    const UID: &str = "5f0e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b";

    fn hint(text: &str) -> Option<(String, Option<String>, Option<String>)> {
        from_cgroup(text).map(|h| (h.runtime, h.id, h.pod_uid))
    }

    fn some(runtime: &str, id: Option<&str>, pod: Option<&str>) -> Option<(String, Option<String>, Option<String>)> {
        Some((runtime.to_string(), id.map(str::to_string), pod.map(str::to_string)))
    }

    #[test]
    fn docker_under_cgroup_v1_and_v2() {
        let v1 = format!("12:pids:/docker/{ID}\n11:memory:/docker/{ID}\n0::/docker/{ID}\n");
        assert_eq!(hint(&v1), some("docker", Some(ID), None));
        assert_eq!(hint(&format!("0::/system.slice/docker-{ID}.scope\n")), some("docker", Some(ID), None));
    }

    #[test]
    fn kubernetes_pods_with_the_systemd_and_the_cgroupfs_driver() {
        let underscored = UID.replace('-', "_");
        let systemd = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{underscored}.slice/cri-containerd-{ID}.scope\n"
        );
        assert_eq!(hint(&systemd), some("containerd", Some(ID), Some(UID)));
        let guaranteed = format!("0::/kubepods.slice/kubepods-pod{underscored}.slice/crio-{ID}.scope");
        assert_eq!(hint(&guaranteed), some("cri-o", Some(ID), Some(UID)));
        let cgroupfs = format!("4:cpu,cpuacct:/kubepods/besteffort/pod{UID}/{ID}\n");
        assert_eq!(hint(&cgroupfs), some("kubernetes", Some(ID), Some(UID)));
        let pod_only =
            format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{underscored}.slice");
        assert_eq!(hint(&pod_only), some("kubernetes", None, Some(UID)));
    }

    #[test]
    fn cri_o_podman_lxc_and_nspawn() {
        assert_eq!(hint(&format!("0::/machine.slice/libpod-{ID}.scope/container")), some("podman", Some(ID), None));
        assert_eq!(hint(&format!("0::/machine.slice/libpod-conmon-{ID}.scope")), some("podman", Some(ID), None));
        assert_eq!(hint(&format!("0::/system.slice/crio-conmon-{ID}.scope")), some("cri-o", Some(ID), None));
        assert_eq!(hint("0::/lxc.payload.web1\n"), some("lxc", Some("web1"), None));
        assert_eq!(hint("5:memory:/lxc/db\n"), some("lxc", Some("db"), None));
        assert_eq!(
            hint("0::/machine.slice/machine-build\\x2dbox.scope"),
            some("systemd-nspawn", Some("build-box"), None)
        );
    }

    #[test]
    fn host_processes_and_garbage_name_no_container() {
        for text in [
            "0::/init.scope\n",
            "0::/user.slice/user-1000.slice/session-3.scope\n",
            "0::/system.slice/nginx.service\n",
            "0::/\n",
            "",
            "garbage",
            "0::/system.slice/docker-abc.scope",
            "0::/docker/not-an-id",
        ] {
            assert_eq!(hint(text), None, "{text:?}");
        }
    }
}
