package simulate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mqttx/mqttx/internal/broker"
	"github.com/mqttx/mqttx/internal/mqttc"
	"github.com/mqttx/mqttx/internal/simulate"
)

// TestTLS runs devices over mqtts against the broker behind a TLS listener whose
// self-signed certificate the devices trust through --ca.
func TestTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := broker.New(broker.Options{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-served; err != nil && !errors.Is(err, broker.ErrServerClosed) {
			t.Error(err)
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	opts := mqttc.Options{Scheme: "mqtts", Host: "127.0.0.1", Port: port, Version: mqttc.V5, KeepAlive: 30, TLS: mqttc.TLSOptions{CAFile: ca}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := simulate.Run(ctx, simulate.Options{
		Scenario: builtin(t, "iem"), Devices: 3, Interval: 10 * time.Millisecond, Limit: 6, QoS: 1,
		ClientID: "tls", Transport: &simulate.BenchTransport{Options: opts},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Published != 6 || s.Acked != 6 {
		t.Errorf("published %d, acked %d, want 6 and 6", s.Published, s.Acked)
	}

	// Without the CA the certificate is not trusted: the run fails before publishing.
	opts.TLS.CAFile = ""
	_, err = simulate.Run(ctx, simulate.Options{
		Scenario: builtin(t, "iem"), Devices: 1, Limit: 1, ClientID: "tls", Transport: &simulate.BenchTransport{Options: opts},
	})
	if err == nil {
		t.Fatal("untrusted certificate accepted")
	}
}
