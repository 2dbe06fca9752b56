"""The top of a py-spy profile (`py-spy record --format raw`: one collapsed stack per line
with its sample count): where the time goes, inclusive and self, by function.

    .venv/bin/python bench/profile_top.py PROFILE.txt [--top 25] [--match whatsapp/]

Idle frames (a thread waiting on its queue, a socket, a lock) are left out of the total, so
the shares are of the time spent working."""

import argparse
import re
from collections import Counter

IDLE = re.compile(
    r"\((?:threading|selectors|queue|socket|ssl|socketserver)\.py\)$|^(?:wait|select|poll|sleep|acquire)\b"
)


def frames(stack: str) -> list[str]:
    return [frame for frame in stack.split(";") if frame]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only functions whose frame contains this text")
    args = parser.parse_args()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    with open(args.profile) as lines:
        for line in lines:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            chain = frames(stack)
            if chain and IDLE.search(chain[-1]):
                continue  # waiting, not working
            samples = int(count)
            total += samples
            own[chain[-1]] += samples
            for frame in set(chain):
                inclusive[frame] += samples
    print(f"{total} working samples")
    for title, counter in (("inclusive", inclusive), ("self", own)):
        print(f"\n-- {title} --")
        shown = 0
        for frame, samples in counter.most_common():
            if args.match and args.match not in frame:
                continue
            print(f"{100 * samples / max(1, total):5.1f}%  {frame}")
            shown += 1
            if shown >= args.top:
                break


if __name__ == "__main__":
    main()
