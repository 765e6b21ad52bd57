//! Which container a process runs in, told cheaply from the text of its `/proc/<pid>/cgroup`.
//! These are documented heuristics on the cgroup paths that container runtimes and the kubelet
//! create, not an API any runtime promises; a path they do not recognise names no container.
//!
//! | runtime reported | cgroup path segments recognised |
//! |---|---|
//! | docker | `/docker/<id>` (cgroupfs driver), `docker-<id>.scope` (systemd driver, also rootless and under a pod) |
//! | containerd | `cri-containerd-<id>.scope`, `…-pod<uid>.slice:cri-containerd:<id>` (containerd without its systemd cgroup option under a systemd-driver kubelet), `nerdctl-<id>.scope` |
//! | cri-o | `crio-<id>.scope`, `crio-<id>`, `crio-conmon-<id>.scope` (the conmon monitor: the same container), `…:crio:<id>` |
//! | podman | `libpod-<id>.scope` (also `…/libpod-<id>.scope/container`, rootless under `user@<uid>.service`), `libpod-conmon-<id>.scope`, `/libpod_parent/libpod-<id>` (cgroupfs) |
//! | lxc | `/lxc/<name>` (LXC before 4.0), `/lxc.payload.<name>`, `/lxc.monitor.<name>`, `/lxc.payload/<name>`, `/lxc.monitor/<name>` |
//! | systemd-nspawn | `machine-<name>.scope` under any slice, systemd's `\xNN` escapes undone (`\x2d` is `-`); libvirt's `machine-qemu\x2d<n>\x2d<vm>.scope` and `machine-lxc\x2d<n>\x2d<name>.scope` are not reported |
//! | kubernetes | a bare `<id>` right under the pod's `pod<uid>` (cgroupfs driver: the path does not name the runtime); a pod with no container segment (id `None`) |
//!
//! `<id>` is exactly 64 lower-case hex digits, so hex in an ordinary unit name is not taken
//! for a container id. The Kubernetes pod UID comes from `pod<uid>` (cgroupfs driver, under
//! `/kubepods/[burstable|besteffort/]`) or from `kubepods[-burstable|-besteffort]-pod<uid>.slice`
//! (systemd driver, which writes the UID's dashes as underscores: they are turned back into
//! dashes); kind's `kubelet-kubepods-…-pod<uid>.slice` counts too. A UID is a UUID
//! (8-4-4-4-12 hex digits) or, for a static pod, 32 hex digits. The pod is reported with a
//! container found below it.
//!
//! Both cgroup v2 (`0::/path`) and v1 (`N:controllers:/path`, one line per hierarchy) files are
//! read: the first line that names a container id wins, else the first that names a pod. When
//! containers nest (Docker in Docker, a kind node's pods inside its docker container, docker
//! inside an LXC or nspawn container), the innermost one is reported, as it is the one whose
//! namespaces the process is in. A dead cgroup's ` (deleted)` suffix is ignored.

pub use crate::sample::ContainerHint;

/// The container hint of a process whose `/proc/<pid>/cgroup` reads `text`; `None` when the
/// paths name none (a host process, a user session, a plain systemd service).
pub fn from_cgroup(text: &str) -> Option<ContainerHint> {
    let mut pod_only = None;
    for hint in text.lines().filter_map(cgroup_path).filter_map(from_path) {
        if hint.id.is_some() {
            return Some(hint);
        }
        pod_only.get_or_insert(hint);
    }
    pod_only
}

/// The path of one `hierarchy-id:controllers:path` line, without a dead cgroup's ` (deleted)`.
fn cgroup_path(line: &str) -> Option<&str> {
    let mut fields = line.splitn(3, ':');
    let hierarchy = fields.next()?;
    let path = fields.nth(1)?.trim_end();
    let numbered = !hierarchy.is_empty() && hierarchy.bytes().all(|byte| byte.is_ascii_digit());
    (numbered && path.starts_with('/')).then(|| path.strip_suffix(" (deleted)").unwrap_or(path))
}

/// The hint of one cgroup path: its innermost container, and the pod above it.
fn from_path(path: &str) -> Option<ContainerHint> {
    // A colon joins the parts of `<slice>:<prefix>:<id>`, containerd's systemd-style name.
    let segments: Vec<&str> = path.split(['/', ':']).filter(|segment| !segment.is_empty()).collect();
    let container = (0..segments.len()).rev().find_map(|at| container_at(&segments, at).map(|found| (at, found)));
    let above = container.as_ref().map_or(segments.len(), |(at, _)| *at);
    let pod_uid = segments[..above].iter().rev().find_map(|segment| pod_uid(segment));
    match container {
        Some((_, (runtime, id))) => Some(ContainerHint { runtime: runtime.to_string(), id: Some(id), pod_uid }),
        None => pod_uid.map(|uid| ContainerHint { runtime: "kubernetes".to_string(), id: None, pod_uid: Some(uid) }),
    }
}

/// The runtime and id of the container that the segment at `at` names, if it names one.
fn container_at(segments: &[&str], at: usize) -> Option<(&'static str, String)> {
    let segment = segments[at];
    let parent = at.checked_sub(1).map_or("", |before| segments[before]);
    prefixed_id(segment)
        .or_else(|| bare_id(parent, segment))
        .or_else(|| lxc_name(parent, segment))
        .or_else(|| nspawn_name(segment))
}

/// A runc-style `<prefix><64 hex>[.scope]` segment: docker, containerd, nerdctl, CRI-O, podman.
fn prefixed_id(segment: &str) -> Option<(&'static str, String)> {
    const PREFIXES: [(&str, &str); 7] = [
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("nerdctl-", "containerd"),
        ("crio-conmon-", "cri-o"),
        ("crio-", "cri-o"),
        ("libpod-conmon-", "podman"),
        ("libpod-", "podman"),
    ];
    let name = segment.strip_suffix(".scope").unwrap_or(segment);
    PREFIXES.iter().find_map(|(prefix, runtime)| {
        name.strip_prefix(prefix).filter(|id| is_container_id(id)).map(|id| (*runtime, id.to_string()))
    })
}

/// A bare 64-hex segment whose parent tells the runtime: `docker`, containerd's `cri-containerd`
/// or CRI-O's `crio` (colon form), or a pod (cgroupfs driver, runtime unknown).
fn bare_id(parent: &str, segment: &str) -> Option<(&'static str, String)> {
    if !is_container_id(segment) {
        return None;
    }
    let runtime = match parent {
        "docker" => "docker",
        "cri-containerd" => "containerd",
        "crio" => "cri-o",
        _ if pod_uid(parent).is_some() => "kubernetes",
        _ => return None,
    };
    Some((runtime, segment.to_string()))
}

/// An LXC container's name: `lxc.payload.<name>`, `lxc.monitor.<name>`, or `<name>` under
/// `lxc`, `lxc.payload` or `lxc.monitor`.
fn lxc_name(parent: &str, segment: &str) -> Option<(&'static str, String)> {
    let name = match parent {
        "lxc" | "lxc.payload" | "lxc.monitor" => Some(segment),
        _ => segment.strip_prefix("lxc.payload.").or_else(|| segment.strip_prefix("lxc.monitor.")),
    };
    name.filter(|name| !name.is_empty()).map(|name| ("lxc", name.to_string()))
}

/// A machine registered with systemd-machined: `machine-<escaped name>.scope`, libvirt's guests
/// (a VM, or a libvirt-lxc container, neither of them nspawn) left out.
fn nspawn_name(segment: &str) -> Option<(&'static str, String)> {
    let escaped = segment.strip_prefix("machine-")?.strip_suffix(".scope")?;
    let name = unescape_systemd(escaped);
    (!name.is_empty() && !is_libvirt_guest(&name)).then_some(("systemd-nspawn", name))
}

/// Whether a machine name is libvirt's `qemu-<n>-<name>` or `lxc-<n>-<name>`.
fn is_libvirt_guest(name: &str) -> bool {
    let numbered =
        name.strip_prefix("qemu-").or_else(|| name.strip_prefix("lxc-")).and_then(|rest| rest.split_once('-'));
    numbered.is_some_and(|(number, _)| !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()))
}

/// The pod UID a segment names, with dashes: `pod<uid>` (cgroupfs driver) or
/// `…kubepods[-<qos>]-pod<uid_with_underscores>.slice` (systemd driver).
fn pod_uid(segment: &str) -> Option<String> {
    let raw = match segment.strip_suffix(".slice") {
        Some(slice) if slice.contains("kubepods") => slice.rsplit_once("-pod")?.1,
        Some(_) => return None,
        None => segment.strip_prefix("pod")?,
    };
    let uid = raw.replace('_', "-");
    is_pod_uid(&uid).then_some(uid)
}

/// Whether text is a pod UID: a UUID (8-4-4-4-12 hex digits) or a static pod's 32 hex digits.
fn is_pod_uid(text: &str) -> bool {
    let lengths: Vec<usize> = text.split('-').map(str::len).collect();
    let shaped = lengths == [8, 4, 4, 4, 12] || lengths == [32];
    shaped && text.bytes().all(|byte| byte == b'-' || is_lower_hex(byte))
}

/// Whether text is a container id as docker, containerd, CRI-O and podman write it: 64 hex digits.
fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(is_lower_hex)
}

/// Whether a byte is a lower-case hex digit, as runtimes write ids and the kubelet UIDs.
fn is_lower_hex(byte: u8) -> bool {
    matches!(byte, b'0'..=b'9' | b'a'..=b'f')
}

/// Undoes systemd's unit-name escapes (`\x2d` for `-`); a malformed escape is kept as written.
fn unescape_systemd(name: &str) -> String {
    super::discovery::unescape(name, escaped_byte)
}

/// The byte a `\xNN` escape at the start of `rest` stands for.
fn escaped_byte(rest: &[u8]) -> Option<u8> {
    match rest {
        [b'\\', b'x', high, low, ..] => {
            let digit = |byte: u8| char::from(byte).to_digit(16);
            Some((digit(*high)? * 16 + digit(*low)?) as u8)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f5e8b0c9a2d4e6f8a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f";
    const INNER: &str = "9ec39b91f3d70e1beff50a308f77067065ea6be0d91a3378375056cd4422cf3d";
    const UID: &str = "214f3ba8-4b69-4bdb-a7d5-5ecc73f04ae9";
    const UID_: &str = "214f3ba8_4b69_4bdb_a7d5_5ecc73f04ae9";

    type Parts = Option<(String, Option<String>, Option<String>)>;

    fn hint(text: &str) -> Parts {
        from_cgroup(text).map(|hint| (hint.runtime, hint.id, hint.pod_uid))
    }

    fn some(runtime: &str, id: Option<&str>, pod: Option<&str>) -> Parts {
        Some((runtime.to_string(), id.map(str::to_string), pod.map(str::to_string)))
    }

    /// A cgroup v1 file with the path on several controllers, as a v1 host writes it.
    fn v1(path: &str) -> String {
        let controllers = ["pids", "memory", "cpu,cpuacct", "devices", "freezer", "blkio", "name=systemd"];
        let lines: Vec<String> =
            controllers.iter().enumerate().map(|(at, name)| format!("{}:{name}:{path}\n", 12 - at)).collect();
        lines.concat()
    }

    #[test]
    fn docker_with_the_cgroupfs_and_the_systemd_driver() {
        assert_eq!(hint(&v1(&format!("/docker/{ID}"))), some("docker", Some(ID), None));
        assert_eq!(hint(&format!("0::/docker/{ID}\n")), some("docker", Some(ID), None));
        assert_eq!(hint(&v1(&format!("/system.slice/docker-{ID}.scope"))), some("docker", Some(ID), None));
        assert_eq!(hint(&format!("0::/system.slice/docker-{ID}.scope\n")), some("docker", Some(ID), None));
        let rootless = format!("0::/user.slice/user-1000.slice/user@1000.service/docker.service/docker-{ID}.scope");
        assert_eq!(hint(&rootless), some("docker", Some(ID), None));
    }

    #[test]
    fn nested_paths_report_the_innermost_container() {
        assert_eq!(hint(&format!("0::/docker/{ID}/init.scope\n")), some("docker", Some(ID), None));
        let systemd_inside = format!("0::/system.slice/docker-{ID}.scope/system.slice/nginx.service\n");
        assert_eq!(hint(&systemd_inside), some("docker", Some(ID), None));
        assert_eq!(hint(&format!("0::/docker/{ID}/docker/{INNER}\n")), some("docker", Some(INNER), None));
        let kind = format!(
            "0::/system.slice/docker-{ID}.scope/kubelet.slice/kubelet-kubepods.slice/\
             kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod{UID_}.slice/cri-containerd-{INNER}.scope\n"
        );
        assert_eq!(hint(&kind), some("containerd", Some(INNER), Some(UID)));
        let in_lxc = format!("0::/lxc.payload.web1/system.slice/docker-{ID}.scope\n");
        assert_eq!(hint(&in_lxc), some("docker", Some(ID), None));
    }

    #[test]
    fn kubernetes_with_the_systemd_driver() {
        let burstable = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/cri-containerd-{ID}.scope"
        );
        assert_eq!(hint(&format!("0::{burstable}\n")), some("containerd", Some(ID), Some(UID)));
        assert_eq!(hint(&v1(&burstable)), some("containerd", Some(ID), Some(UID)));
        let besteffort =
            format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice/crio-{ID}.scope");
        assert_eq!(hint(&besteffort), some("cri-o", Some(ID), Some(UID)));
        let guaranteed = format!("0::/kubepods.slice/kubepods-pod{UID_}.slice/docker-{ID}.scope\n");
        assert_eq!(hint(&guaranteed), some("docker", Some(ID), Some(UID)));
    }

    #[test]
    fn kubernetes_with_containerds_colon_form() {
        let colon =
            format!("0::/system.slice/containerd.service/kubepods-besteffort-pod{UID_}.slice:cri-containerd:{ID}\n");
        assert_eq!(hint(&colon), some("containerd", Some(ID), Some(UID)));
        let v1_colon = v1(&format!("/kubepods-burstable-pod{UID_}.slice:cri-containerd:{ID}"));
        assert_eq!(hint(&v1_colon), some("containerd", Some(ID), Some(UID)));
        let crio = format!("0::/kubepods-besteffort-pod{UID_}.slice:crio:{ID}");
        assert_eq!(hint(&crio), some("cri-o", Some(ID), Some(UID)));
    }

    #[test]
    fn kubernetes_with_the_cgroupfs_driver_does_not_name_the_runtime() {
        assert_eq!(hint(&v1(&format!("/kubepods/besteffort/pod{UID}/{ID}"))), some("kubernetes", Some(ID), Some(UID)));
        assert_eq!(hint(&format!("0::/kubepods/pod{UID}/{ID}\n")), some("kubernetes", Some(ID), Some(UID)));
        assert_eq!(hint(&format!("0::/kubepods/burstable/pod{UID}/crio-{ID}")), some("cri-o", Some(ID), Some(UID)));
        // Read through a cgroup namespace, the path climbs out of the reader's own cgroup.
        assert_eq!(hint(&format!("0::/../../pod{UID}/{ID}")), some("kubernetes", Some(ID), Some(UID)));
    }

    #[test]
    fn a_pod_without_a_container_segment() {
        let pod = format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_}.slice\n");
        assert_eq!(hint(&pod), some("kubernetes", None, Some(UID)));
        assert_eq!(hint(&format!("3:memory:/kubepods/burstable/pod{UID}\n")), some("kubernetes", None, Some(UID)));
        let static_uid = "0a3f1b9e3c5d7e9f1a2b4c6d8e0f1a3b";
        let static_pod =
            format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{static_uid}.slice");
        assert_eq!(hint(&static_pod), some("kubernetes", None, Some(static_uid)));
    }

    #[test]
    fn cri_o_outside_kubernetes_and_its_conmon() {
        assert_eq!(hint(&format!("0::/system.slice/crio-{ID}.scope\n")), some("cri-o", Some(ID), None));
        assert_eq!(hint(&format!("0::/system.slice/crio-conmon-{ID}.scope\n")), some("cri-o", Some(ID), None));
        assert_eq!(hint(&v1(&format!("/system.slice/crio-conmon-{ID}.scope"))), some("cri-o", Some(ID), None));
    }

    #[test]
    fn podman_and_nerdctl() {
        assert_eq!(hint(&format!("0::/machine.slice/libpod-{ID}.scope\n")), some("podman", Some(ID), None));
        assert_eq!(hint(&format!("0::/machine.slice/libpod-{ID}.scope/container\n")), some("podman", Some(ID), None));
        assert_eq!(hint(&format!("0::/machine.slice/libpod-conmon-{ID}.scope\n")), some("podman", Some(ID), None));
        let rootless = format!("0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope");
        assert_eq!(hint(&rootless), some("podman", Some(ID), None));
        assert_eq!(hint(&v1(&format!("/libpod_parent/libpod-{ID}"))), some("podman", Some(ID), None));
        let in_pod = format!("0::/machine.slice/machine-libpod_pod_{INNER}.slice/libpod-{ID}.scope/container");
        assert_eq!(hint(&in_pod), some("podman", Some(ID), None));
        assert_eq!(hint(&format!("0::/system.slice/nerdctl-{ID}.scope\n")), some("containerd", Some(ID), None));
    }

    #[test]
    fn lxc_old_and_new_layouts() {
        assert_eq!(hint(&v1("/lxc/db")), some("lxc", Some("db"), None));
        assert_eq!(hint("0::/lxc.payload.web1\n"), some("lxc", Some("web1"), None));
        assert_eq!(hint("0::/lxc.payload.web1/init.scope\n"), some("lxc", Some("web1"), None));
        assert_eq!(hint("0::/lxc.monitor.web1\n"), some("lxc", Some("web1"), None));
        assert_eq!(hint("0::/lxc.payload/web1/system.slice/sshd.service\n"), some("lxc", Some("web1"), None));
        assert_eq!(hint("0::/lxc.pivot\n"), None);
    }

    #[test]
    fn nspawn_machines_are_unescaped_and_libvirt_guests_left_out() {
        let escaped = "0::/machine.slice/machine-build\\x2dbox.scope/payload/system.slice/sshd.service\n";
        assert_eq!(hint(escaped), some("systemd-nspawn", Some("build-box"), None));
        assert_eq!(hint(&v1("/machine.slice/machine-web.scope")), some("systemd-nspawn", Some("web"), None));
        assert_eq!(hint("0::/machine.slice/machine-odd\\xzz.scope"), some("systemd-nspawn", Some("odd\\xzz"), None));
        assert_eq!(
            hint("0::/machine.slice/machine-qemu\\x2dbuilder.scope"),
            some("systemd-nspawn", Some("qemu-builder"), None)
        );
        assert_eq!(hint("0::/machine.slice/machine-qemu\\x2d1\\x2dwin10.scope/libvirt/emulator\n"), None);
        assert_eq!(hint("0::/machine.slice/machine-lxc\\x2d4242\\x2dweb.scope\n"), None);
    }

    #[test]
    fn v1_prefers_a_line_that_names_a_container() {
        let mixed = format!("12:pids:/user.slice\n11:memory:/\n4:cpu,cpuacct:/docker/{ID}\n0::/\n");
        assert_eq!(hint(&mixed), some("docker", Some(ID), None));
        let pod_then_container =
            format!("5:memory:/kubepods/burstable/pod{UID}\n4:cpu:/kubepods/burstable/pod{UID}/{ID}\n");
        assert_eq!(hint(&pod_then_container), some("kubernetes", Some(ID), Some(UID)));
        assert_eq!(hint(&format!("0::/docker/{ID} (deleted)\n")), some("docker", Some(ID), None));
        assert_eq!(hint(&format!("0::/docker/{ID}\r\n")), some("docker", Some(ID), None));
    }

    #[test]
    fn host_processes_and_garbage_name_no_container() {
        let upper = ID.to_uppercase();
        let short = &ID[..63];
        for text in [
            "0::/init.scope\n".to_string(),
            "0::/user.slice/user-1000.slice/session-3.scope\n".to_string(),
            "0::/system.slice/nginx.service\n".to_string(),
            "0::/\n".to_string(),
            v1("/user.slice/user-1000.slice/session-3.scope"),
            String::new(),
            "\n\n".to_string(),
            "garbage".to_string(),
            "::::".to_string(),
            format!("x::/docker/{ID}"),
            format!("0::docker/{ID}"),
            "0::/system.slice/docker-abc.scope".to_string(),
            "0::/docker/not-an-id".to_string(),
            format!("0::/docker/{short}"),
            format!("0::/docker/{ID}0"),
            format!("0::/docker/{upper}"),
            format!("0::/system.slice/docker-{ID}.service"),
            format!("0::/system.slice/backup-{ID}.service"),
            format!("0::/system.slice/{ID}"),
            format!("0::/ecs/task/{ID}"),
            "0::/kubepods.slice/kubepods-burstable.slice\n".to_string(),
            "0::/system.slice/pod1234.slice\n".to_string(),
            "0::/kubepods/burstable/podnot-a-uid\n".to_string(),
            "0::/machine.slice/machine-.scope".to_string(),
            "0::/lxc.payload.\n".to_string(),
        ] {
            assert_eq!(hint(&text), None, "{text:?}");
        }
    }

    #[test]
    fn hints_serialise_without_absent_fields() {
        let pod = ContainerHint { runtime: "kubernetes".to_string(), id: None, pod_uid: Some(UID.to_string()) };
        let json = serde_json::to_string(&pod).unwrap();
        assert_eq!(json, format!(r#"{{"runtime":"kubernetes","pod_uid":"{UID}"}}"#));
        assert_eq!(serde_json::from_str::<ContainerHint>(&json).unwrap(), pod);
    }
}
