#!/usr/bin/python3
"""cri.py: drive containerd's CRI plugin the way a kubelet does (900-containerd.bats).

  cri.py SOCKET GENDIR compile
  cri.py SOCKET GENDIR run-pod NAME HANDLER IMAGE N [KEY=VALUE...]
      RunPodSandbox (host network, hostname empty), then N containers Created and Started
      with pod annotations KEY=VALUE; prints the sandbox id, then one container id a line
  cri.py SOCKET GENDIR exec CONTAINER CMD...
      ExecSync; prints stdout, exits with the command's exit code
  cri.py SOCKET GENDIR delete-pod SANDBOX [CONTAINER...]
      what a kubelet does when a pod is deleted: StopContainer with no grace period
      (SIGKILL) and RemoveContainer for each, StopPodSandbox, RemovePodSandbox

GENDIR holds the Python modules compiled from cri-v1.proto (by 'compile').
A gRPC error is one line on stderr and exit 1.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def compile_proto(gendir):
    from grpc_tools import protoc

    os.makedirs(gendir, exist_ok=True)
    rc = protoc.main(["protoc", "-I" + HERE, "--python_out=" + gendir,
                      "--grpc_python_out=" + gendir, os.path.join(HERE, "cri-v1.proto")])
    if rc != 0:
        sys.exit("cri.py: protoc failed")


def node_ns(pb):
    return pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)


def sandbox_config(pb, name, annotations):
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=name + "-uid", namespace="cltest"),
        hostname="",  # host network: runc refuses a hostname without a UTS namespace
        annotations=annotations,
        linux=pb.LinuxPodSandboxConfig(
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=node_ns(pb))))


def run_pod(pb, stub, name, handler, image, n, annotations):
    sbc = sandbox_config(pb, name, annotations)
    sid = stub.RunPodSandbox(pb.RunPodSandboxRequest(config=sbc, runtime_handler=handler),
                             timeout=60).pod_sandbox_id
    print(sid, flush=True)
    for i in range(n):
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name="c%d" % i),
            image=pb.ImageSpec(image=image),
            command=["/bin/sleep", "600"],
            envs=[pb.KeyValue(key="PATH", value="/usr/sbin:/usr/bin:/sbin:/bin")],
            linux=pb.LinuxContainerConfig(
                security_context=pb.LinuxContainerSecurityContext(namespace_options=node_ns(pb))))
        cid = stub.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=sid, config=cfg, sandbox_config=sbc), timeout=60).container_id
        stub.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
        print(cid, flush=True)


def delete_pod(pb, stub, sid, cids):
    for cid in cids:
        stub.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0), timeout=60)
        stub.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=60)
    stub.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=60)
    stub.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=60)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    sock, gendir, cmd, args = argv[1], argv[2], argv[3], argv[4:]
    if cmd == "compile":
        compile_proto(gendir)
        return 0
    import grpc

    sys.path.insert(0, gendir)
    import cri_v1_pb2 as pb
    import cri_v1_pb2_grpc as pbg

    stub = pbg.RuntimeServiceStub(grpc.insecure_channel("unix://" + sock))
    try:
        if cmd == "run-pod":
            ann = dict(a.split("=", 1) for a in args[4:])
            run_pod(pb, stub, args[0], args[1], args[2], int(args[3]), ann)
        elif cmd == "exec":
            r = stub.ExecSync(pb.ExecSyncRequest(container_id=args[0], cmd=args[1:], timeout=30),
                              timeout=60)
            sys.stdout.buffer.write(r.stdout)
            return r.exit_code
        elif cmd == "delete-pod":
            delete_pod(pb, stub, args[0], args[1:])
        else:
            sys.exit("cri.py: unknown command '%s'" % cmd)
    except grpc.RpcError as e:
        print("cri.py: %s: %s" % (cmd, e.details()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
