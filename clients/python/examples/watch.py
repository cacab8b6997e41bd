"""Print every cluster update of a daemon with its sequence number, events, gaps and the size
of the reconstructed window; resynchronizes through the control endpoint after a gap.

    python watch.py --output tcp://127.0.0.1:5557 --control tcp://127.0.0.1:5558
    python watch.py --output tcp://host:5557 --control tcp://host:5558 --server-key server.pub --key client.key
"""

import argparse

from mmcd_client import Curve, Subscriber


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default="tcp://127.0.0.1:5557", help="the daemon's output endpoint")
    parser.add_argument("--control", default="tcp://127.0.0.1:5558", help="its control endpoint ('' = none)")
    parser.add_argument("--server-key", help="the daemon's public key file (turns CURVE on)")
    parser.add_argument("--key", help="this client's secret key file (mmc keygen's PREFIX.key)")
    args = parser.parse_args()
    curve = Curve.from_files(args.server_key, args.key) if args.server_key else None
    with Subscriber(args.output, curve=curve, control=args.control or None) as subscriber:
        lost = 0
        for update in subscriber:
            if subscriber.lost > lost:
                print(f"GAP: {subscriber.lost - lost} message(s) lost")
                lost = subscriber.lost
            window = subscriber.windows[update.topic]
            events = " ".join(f"{e.type}{list(e.source)}->{list(e.target)}" for e in update.events) or "-"
            mode = update.assignments.mode if update.assignments is not None else "none"
            print(f"{update.topic} #{update.sequence} ({update.source}) model {update.model_version}: "
                  f"window {update.window_size}, noise {update.noise}, clusters {len(update.clusters)}, "
                  f"assignments {mode}, events {events}; reconstructed {len(window)} points, "
                  f"{'in sync' if window.in_sync else 'waiting for a full update'}")


if __name__ == "__main__":
    main()
