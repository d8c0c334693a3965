// Package bench is mqttx's load engine: lean MQTT clients written directly on
// internal/packet (raw sockets, one reader goroutine per connection, buffered writes
// flushed in batches, reused buffers), the scenarios that drive them, latency
// histograms and the broker-process measurements the scenarios report.
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
//
// Conn is the client underneath, usable on its own: Dial (CONNECT/CONNACK), Subscribe,
// Publish/Ack/WritePacket into the write buffer, Flush, ReadRaw.
package bench
