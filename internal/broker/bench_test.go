package broker_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/broker/brokertest"
	"github.com/mqttx/mqttx/internal/packet"
)

// benchConn is a lean client for benchmarks: pre-encoded packets out,
// headers only in.
type benchConn struct {
	nc net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

func benchDial(b *testing.B, addr, id string, v packet.Version) *benchConn {
	b.Helper()
	return benchDialClean(b, addr, id, v, true)
}

// benchDialClean is benchDial with a session that outlives the connection
// when clean is false.
func benchDialClean(b *testing.B, addr, id string, v packet.Version, clean bool) *benchConn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := &benchConn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 64<<10)}
	cp := &packet.Connect{ClientID: id, CleanStart: clean}
	buf, _ := cp.AppendTo(nil, v)
	c.nc.Write(buf)
	h, _, _, err := packet.ReadRaw(c.br, 0, nil)
	if err != nil || h.Type != packet.CONNACK {
		b.Fatalf("connect %s: %v %v", id, h.Type, err)
	}
	return c
}

func (c *benchConn) subscribe(b *testing.B, filter string, qos byte, v packet.Version) {
	buf, _ := (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: filter, QoS: qos}}}).AppendTo(nil, v)
	c.nc.Write(buf)
	h, _, _, err := packet.ReadRaw(c.br, 0, nil)
	if err != nil || h.Type != packet.SUBACK {
		b.Fatalf("subscribe: %v %v", h.Type, err)
	}
}

// consume counts PUBLISH packets until want arrive, acknowledging QoS 1
// ones in batches.
func (c *benchConn) consume(want int64, got *atomic.Int64, v packet.Version, done *sync.WaitGroup) {
	defer done.Done()
	var buf []byte
	var ack [4]byte
	unacked := 0
	ack[0], ack[1] = byte(packet.PUBACK)<<4, 2
	for got.Load() < want {
		h, body, nb, err := packet.ReadRaw(c.br, 0, buf)
		buf = nb
		if err != nil {
			return
		}
		if h.Type != packet.PUBLISH {
			continue
		}
		if (h.Flags>>1)&3 == 1 {
			tl := int(body[0])<<8 | int(body[1])
			ack[2], ack[3] = body[2+tl], body[3+tl]
			c.bw.Write(ack[:])
			// Acknowledge promptly: the broker queues beyond 65535
			// unacknowledged messages and drops beyond its queue bound.
			if unacked++; c.br.Buffered() == 0 || unacked >= 256 {
				c.bw.Flush()
				unacked = 0
			}
		}
		got.Add(1)
	}
	c.bw.Flush()
}

// publish sends n messages of 256 bytes to topic, at most window ahead of
// the slowest consumer.
func (c *benchConn) publish(n int, topic string, qos byte, v packet.Version, slowest func() int64, window int64, sent *atomic.Int64) {
	p := &packet.Publish{Topic: []byte(topic), Payload: make([]byte, 256), QoS: qos}
	var buf []byte
	pid := uint16(0)
	for i := range n {
		for int64(i)-slowest() > window {
			c.bw.Flush()
			runtime.Gosched()
			time.Sleep(20 * time.Microsecond)
		}
		if qos > 0 {
			pid++
			if pid == 0 {
				pid = 1
			}
			p.PacketID = pid
		}
		buf, _ = p.AppendTo(buf[:0], v)
		c.bw.Write(buf)
		sent.Add(1)
	}
	c.bw.Flush()
}

// drainAcks discards what the broker sends a publisher (PUBACKs).
func (c *benchConn) drainAcks() {
	var buf []byte
	for {
		_, _, nb, err := packet.ReadRaw(c.br, 0, buf)
		buf = nb
		if err != nil {
			return
		}
	}
}

func benchFanOut(b *testing.B, subs int, qos byte) {
	runFanOut(b, benchBroker(b), subs, qos, nil)
}

func benchBroker(b *testing.B) string {
	return brokertest.Start(b, func(o *broker.Options) { o.MaxOutboundQueue, o.MaxOfflineQueue = 1<<20, 1<<20 })
}

// runFanOut publishes b.N messages to subs subscribers through the broker
// at addr; cpu, when set, returns the broker's CPU time so far.
func runFanOut(b *testing.B, addr string, subs int, qos byte, cpu func() time.Duration) {
	v := packet.V311
	counts := make([]atomic.Int64, subs)
	conns := make([]*benchConn, subs)
	for i := range subs {
		conns[i] = benchDial(b, addr, fmt.Sprint("sub", i), v)
		conns[i].subscribe(b, "bench/out", qos, v)
	}
	pub := benchDial(b, addr, "pub", v)
	go pub.drainAcks()
	slowest := func() int64 {
		m := counts[0].Load()
		for i := 1; i < subs; i++ {
			m = min(m, counts[i].Load())
		}
		return m
	}
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	var cpu0 time.Duration
	if cpu != nil {
		cpu0 = cpu()
	}
	wg.Add(subs)
	for i := range subs {
		go conns[i].consume(int64(b.N), &counts[i], v, &wg)
	}
	var sent atomic.Int64
	pub.publish(b.N, "bench/out", qos, v, slowest, 2000, &sent)
	wg.Wait()
	el := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*subs), "ns/msg")
	if cpu != nil {
		b.ReportMetric(float64((cpu()-cpu0).Nanoseconds())/float64(b.N*subs), "broker-cpu-ns/msg")
	}
	for _, c := range conns {
		c.nc.Close()
	}
	pub.nc.Close()
}

func benchFanIn(b *testing.B, pubs int, qos byte) {
	runFanIn(b, benchBroker(b), pubs, qos, nil)
}

func runFanIn(b *testing.B, addr string, pubs int, qos byte, cpu func() time.Duration) {
	runFanInSub(b, addr, pubs, qos, cpu, true)
}

// runFanInSub is runFanIn with a persistent subscriber when clean is false.
func runFanInSub(b *testing.B, addr string, pubs int, qos byte, cpu func() time.Duration, clean bool) {
	v := packet.V311
	sub := benchDialClean(b, addr, "sub", v, clean)
	sub.subscribe(b, "bench/in/+", qos, v)
	publishers := make([]*benchConn, pubs)
	for i := range pubs {
		publishers[i] = benchDial(b, addr, fmt.Sprint("pub", i), v)
		go publishers[i].drainAcks()
	}
	var got atomic.Int64
	per := b.N/pubs + 1
	total := int64(per * pubs)
	var wg, pw sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	var cpu0 time.Duration
	if cpu != nil {
		cpu0 = cpu()
	}
	wg.Add(1)
	go sub.consume(total, &got, v, &wg)
	sents := make([]atomic.Int64, pubs)
	for i, p := range publishers {
		pw.Add(1)
		go func() {
			defer pw.Done()
			// Each publisher stays within a window of what the subscriber has
			// received overall, so the queue stays bounded.
			p.publish(per, fmt.Sprint("bench/in/", i), qos, v, func() int64 { return got.Load() / int64(pubs) }, 1000, &sents[i])
		}()
	}
	pw.Wait()
	wg.Wait()
	el := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(el.Nanoseconds())/float64(total), "ns/msg")
	if cpu != nil {
		b.ReportMetric(float64((cpu()-cpu0).Nanoseconds())/float64(total), "broker-cpu-ns/msg")
	}
	sub.nc.Close()
	for _, p := range publishers {
		p.nc.Close()
	}
}

func BenchmarkFanOut(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("QoS%d/16subs", qos), func(b *testing.B) { benchFanOut(b, 16, qos) })
	}
}

func BenchmarkFanIn(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("QoS%d/8pubs", qos), func(b *testing.B) { benchFanIn(b, 8, qos) })
	}
}

// BenchmarkIdleConnection reports the broker's memory per idle connection
// (connected and subscribed, then silent), measured as the growth of heap
// and stacks over 500 connections. It includes the client side's sockets,
// so it is an upper bound.
func BenchmarkIdleConnection(b *testing.B) {
	const n = 500
	// Each call measures one broker of its own from a clean heap, whatever
	// b.N is; run with -benchtime=1x.
	s := broker.New(broker.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	addr := ln.Addr().String()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	conns := make([]net.Conn, 0, n)
	connect, _ := (&packet.Connect{ClientID: "", CleanStart: true, KeepAlive: 60}).AppendTo(nil, packet.V311)
	var hdr [64]byte
	for i := range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		subscribe, _ := (&packet.Subscribe{PacketID: 1, Subscriptions: []packet.Subscription{{Filter: fmt.Sprint("idle/", i), QoS: 1}}}).AppendTo(nil, packet.V311)
		nc.Write(connect)
		io.ReadFull(nc, hdr[:4]) // CONNACK
		nc.Write(subscribe)
		io.ReadFull(nc, hdr[:5]) // SUBACK
		conns = append(conns, nc)
	}
	time.Sleep(200 * time.Millisecond)
	// Stacks shrink by half per collection while mostly unused.
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms1)
	used := int64(ms1.HeapInuse+ms1.StackInuse) - int64(ms0.HeapInuse+ms0.StackInuse)
	b.ReportMetric(float64(used)/n, "B/conn")
	b.ReportMetric(float64(int64(ms1.StackInuse)-int64(ms0.StackInuse))/n, "stackB/conn")
	for _, c := range conns {
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	for range b.N {
	}
}

// BenchmarkConnect measures CONNECT, CONNACK and DISCONNECT over a new TCP
// connection, the cost of a client that connects to publish one message.
func BenchmarkConnect(b *testing.B) {
	addr := benchBroker(b)
	connect, _ := (&packet.Connect{ClientID: "c", CleanStart: true, KeepAlive: 60}).AppendTo(nil, packet.V5)
	disconnect, _ := (&packet.Disconnect{}).AppendTo(nil, packet.V5)
	var hdr [64]byte
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		nc.Write(connect)
		if _, err := nc.Read(hdr[:]); err != nil {
			b.Fatal(err)
		}
		nc.Write(disconnect)
		nc.Read(hdr[:]) // EOF once the broker closes
		nc.Close()
	}
}

// runRoundTrip publishes one 256-byte QoS 0 message at a time and waits for
// the subscriber to receive it: light traffic, where wake-ups dominate.
func runRoundTrip(b *testing.B, addr string, cpu func() time.Duration) {
	v := packet.V311
	sub := benchDial(b, addr, "rt-sub", v)
	sub.subscribe(b, "rt", 0, v)
	pub := benchDial(b, addr, "rt-pub", v)
	msg, _ := (&packet.Publish{Topic: []byte("rt"), Payload: make([]byte, 256)}).AppendTo(nil, v)
	var buf []byte
	b.ResetTimer()
	var cpu0 time.Duration
	if cpu != nil {
		cpu0 = cpu()
	}
	for range b.N {
		pub.nc.Write(msg)
		h, _, nb, err := packet.ReadRaw(sub.br, 0, buf)
		buf = nb
		if err != nil || h.Type != packet.PUBLISH {
			b.Fatalf("round trip: %v %v", h.Type, err)
		}
	}
	b.StopTimer()
	if cpu != nil {
		b.ReportMetric(float64((cpu()-cpu0).Nanoseconds())/float64(b.N), "broker-cpu-ns/msg")
	}
	sub.nc.Close()
	pub.nc.Close()
}

func BenchmarkRoundTrip(b *testing.B) { runRoundTrip(b, benchBroker(b), nil) }

// BenchmarkRoundTripQoS1 is BenchmarkRoundTrip at QoS 1 on MQTT 5: the
// publisher waits for its PUBACK and the subscriber acknowledges each
// message, the path of a light QoS 1 client. Its allocations per message are
// what the collector has to clean up under steady light traffic.
func BenchmarkRoundTripQoS1(b *testing.B) {
	addr := benchBroker(b)
	v := packet.V5
	sub := benchDial(b, addr, "rt1-sub", v)
	sub.subscribe(b, "rt1", 1, v)
	pub := benchDial(b, addr, "rt1-pub", v)
	p := &packet.Publish{Topic: []byte("rt1"), Payload: make([]byte, 256), QoS: 1}
	var msg, buf []byte
	ack := []byte{byte(packet.PUBACK) << 4, 2, 0, 0}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.PacketID = uint16(i%65535) + 1
		msg, _ = p.AppendTo(msg[:0], v)
		pub.nc.Write(msg)
		h, body, nb, err := packet.ReadRaw(sub.br, 0, buf)
		buf = nb
		if err != nil || h.Type != packet.PUBLISH {
			b.Fatalf("round trip: %v %v", h.Type, err)
		}
		tl := int(body[0])<<8 | int(body[1])
		ack[2], ack[3] = body[2+tl], body[3+tl]
		sub.nc.Write(ack)
		if h, _, nb, err = packet.ReadRaw(pub.br, 0, buf); err != nil || h.Type != packet.PUBACK {
			b.Fatalf("puback: %v %v", h.Type, err)
		}
		buf = nb
	}
	b.StopTimer()
	sub.nc.Close()
	pub.nc.Close()
}
