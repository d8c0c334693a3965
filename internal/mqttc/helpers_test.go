package mqttc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var versions = []Version{V5, V311, V31}

var idSeq atomic.Int64

// clientID is unique per call and at most 23 characters, as MQTT 3.1 requires.
func clientID(prefix string) string {
	id := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid()%10000, idSeq.Add(1))
	if len(id) > 23 {
		id = id[len(id)-23:]
	}
	return id
}

func baseOptions(t testing.TB, addr string, v Version) Options {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return Options{
		Version:        v,
		Scheme:         "mqtt",
		Host:           host,
		Port:           p,
		ClientID:       clientID("c"),
		KeepAlive:      30,
		CleanStart:     true,
		ConnectTimeout: 5 * time.Second,
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect makes and connects a client, disconnecting it when the test ends.
func connect(t testing.TB, o Options) (Client, *ConnAck) {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ack, err := c.Connect(ctxT(t))
	if err != nil {
		t.Fatalf("Connect %s: %v", o.Version, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = c.Disconnect(ctx)
	})
	return c, ack
}

// inbox collects received messages without blocking the client.
type inbox chan Message

func newInbox() inbox { return make(inbox, 1000) }

func (in inbox) handler(m Message) bool {
	select {
	case in <- m:
	default:
		panic("inbox full")
	}
	return true
}

func (in inbox) next(t testing.TB, d time.Duration) Message {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(d):
		t.Fatalf("no message within %s", d)
	}
	return Message{}
}

func (in inbox) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case m := <-in:
		t.Fatalf("unexpected message on %q: %q", m.Topic, m.Payload)
	case <-time.After(d):
	}
}

// testPKI writes a CA and a server certificate for 127.0.0.1 and localhost into dir.
type testPKI struct {
	CAFile, CertFile, KeyFile string
	ClientCert, ClientKey     string
	OtherCAFile               string // a CA that signed nothing here
	caCert                    *x509.Certificate
	caKey                     *ecdsa.PrivateKey
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	dir := t.TempDir()
	p := &testPKI{}
	mkCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: name},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(der)
		file := filepath.Join(dir, name+".pem")
		writePEM(t, file, "CERTIFICATE", der)
		return cert, key, file
	}
	p.caCert, p.caKey, p.CAFile = mkCA("test-ca")
	_, _, p.OtherCAFile = mkCA("other-ca")
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"localhost"},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
		writePEM(t, cf, "CERTIFICATE", der)
		writePEM(t, kf, "EC PRIVATE KEY", kder)
		return cf, kf
	}
	p.CertFile, p.KeyFile = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.ClientCert, p.ClientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t testing.TB, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}
