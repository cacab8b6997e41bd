// ZeroMQ module. See docs/ for the design; files in this folder hold one concern each.
