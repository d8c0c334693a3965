// Package bench is mqttx's load engine: lean MQTT clients written directly on
// internal/packet (raw sockets, one reader goroutine per connection, buffered writes
// flushed in batches, reused buffers), payload stamps for end-to-end latency and
// HDR latency histograms (one per worker, merged). It prints nothing.
//
// Conn is the client: Dial (CONNECT/CONNACK), Subscribe, Publish/Ack/WritePacket into
// the write buffer, Flush, ReadRaw, Disconnect, Close. IdleDialer holds connections
// that only wait, with no goroutine or buffer.
//
// Broker measurement (fixed scenarios, broker CPU and memory sampling) lives in
// tools/harness, outside the product.
package bench
