// Package harness measures brokers with the load engine in internal/bench: fixed
// scenarios, latency histograms and the broker-process measurements the scenarios
// report. It is a developer tool, used by tools/brokerbench, not part of mqttx.
//
// Scenarios take a broker address and Options and return a Summary (JSON-tagged):
//
//   - FanIn: 10 publishers -> 1 subscriber on Topic/#, closed loop.
//   - FanOut: 1 publisher -> 10 subscribers, closed loop.
//   - Latency: 1 publisher -> 1 subscriber at a fixed rate, end-to-end latency.
//   - IdleConns: resident memory of the broker per idle connection.
//   - ConnectRate: CONNECT/CONNACK handshakes per second.
//
// Closed loop means each publisher keeps at most Options.Window messages in flight:
// published but not yet received by every subscriber (and at QoS 1 not yet
// acknowledged), so nothing is dropped and queues stay bounded. When Options.PID names
// the broker's process, the broker's CPU time (utime+stime from /proc/PID/stat) is
// sampled around the run and divided by the delivered messages, and IdleConns samples
// its VmRSS; the load generator's own CPU time per message is reported beside it.
package harness
