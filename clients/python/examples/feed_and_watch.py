"""Feed a numpy array of points to mmcd and print the cluster updates (the README's example).

Start a daemon with the shipped configuration first (from the repository root:
`swift run mmcd --config config/mmcd.toml --set state.directory=`), then: python feed_and_watch.py
"""

import numpy as np

from mmcd_client import Producer, Subscriber

points = np.random.default_rng(1).normal(size=(20_000, 2)) + np.tile([[0, 0], [8, 8]], (10_000, 1))
with Subscriber("tcp://127.0.0.1:5557", control="tcp://127.0.0.1:5558") as updates:
    with Producer("tcp://127.0.0.1:5556", topic="points.demo") as producer:
        producer.send(points)
    for update in updates:
        print(f"model {update.model_version}: {len(update.clusters)} clusters, noise {update.noise}")
        for cluster in update.clusters:
            print(f"  cluster {cluster['id']}: mass {cluster['mass']}, centroid {cluster['centroid'].round(2)}")
