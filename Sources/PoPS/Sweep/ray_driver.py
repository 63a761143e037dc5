#!/usr/bin/env python3
"""The Ray engine of `pops sweep` (run by pops with the bridge's Python):
each cell of the study becomes one Ray task that runs the pops executable on
a worker node (`pops sweep STUDY --out DIR --cell I`); the full cells first,
then the others (they take the full runs' teachers and architectures).
DIR, the study and pops must be at the same paths on every node (shared
storage). Prints one line per finished cell for pops to report:
    done I        or        failed I STATUS
followed, for a failure, by the last lines of the cell's output, each
prefixed with "| ".

Usage: ray_driver.py --address HOST:PORT --pops PATH --study PATH --out DIR
                     --threads N --phase 0,1,2 --phase 3,4,5
"""
import argparse, os, subprocess, sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--pops", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--phase", action="append", default=[])
    args = parser.parse_args()
    try:
        import ray
    except ImportError:
        print("error: the ray package is missing; run `make deps-ray`", file=sys.stderr)
        sys.exit(2)
    try:
        ray.init(address=args.address, logging_level="ERROR", log_to_driver=False)
    except Exception as error:  # no head there, wrong address
        print(f"error: cannot connect to the Ray cluster at {args.address}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(2)

    @ray.remote(num_cpus=args.threads)
    def run_cell(pops, study, out, index, threads):
        env = dict(os.environ, POPS_THREADS=str(threads))
        done = subprocess.run(
            [pops, "sweep", study, "--out", out, "--cell", str(index)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        return index, done.returncode, done.stdout[-4000:]

    for phase in args.phase:
        indices = [int(i) for i in phase.split(",") if i]
        pending = [run_cell.remote(args.pops, args.study, args.out, i, args.threads) for i in indices]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            index, status, output = ray.get(ready[0])
            if status == 0:
                print(f"done {index}", flush=True)
            else:
                print(f"failed {index} {status}", flush=True)
                for line in output.strip().splitlines()[-8:]:
                    print(f"| {line}", flush=True)
    ray.shutdown()


if __name__ == "__main__":
    main()
