// Package listener makes the net.Listeners that the broker engine serves: plain TCP, TLS
// (optionally requiring client certificates) and WebSocket / secure WebSocket, whose
// upgraded connections are handed out by Accept as ordinary net.Conns.
//
// The package never imports the engine; the engine never knows which transport a
// connection came from.
package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
)

// TCP listens on addr ("host:port"; port 0 picks a free port).
//
// Accepted connections get no TCP keep-alive: MQTT has its own (the engine drops a client
// silent for 1.5 keep alive periods), and the setsockopt calls Go's default makes on
// every accept cost about 5% of the connect rate. As with mosquitto, a client that asks
// for keep alive 0 and vanishes without a FIN may linger until its client id reconnects.
func TCP(addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", addr)
}

// TLS listens on addr and serves TLS with the certificate and key in the PEM files
// certFile and keyFile. A non-empty clientCAFile makes client certificates required and
// verified against the CA certificates in that PEM file.
func TLS(addr, certFile, keyFile, clientCAFile string) (net.Listener, error) {
	cfg, err := TLSConfig(certFile, keyFile, clientCAFile)
	if err != nil {
		return nil, err
	}
	ln, err := TCP(addr)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, cfg), nil
}

// TLSConfig loads a server certificate and key (PEM files) and, when clientCAFile is not
// empty, requires and verifies client certificates signed by the CAs in that file. Errors
// name the file at fault.
func TLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls needs both a certificate file and a key file")
	}
	certPEM, err := readPEM(certFile, "certificate")
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEM(keyFile, "key")
	if err != nil {
		return nil, err
	}
	if !hasBlock(certPEM, func(t string) bool { return t == "CERTIFICATE" }) {
		return nil, fmt.Errorf("certificate file %s: no PEM CERTIFICATE block found", certFile)
	}
	if !hasBlock(keyPEM, func(t string) bool { return len(t) >= 11 && t[len(t)-11:] == "PRIVATE KEY" }) {
		return nil, fmt.Errorf("key file %s: no PEM PRIVATE KEY block found", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate %s with key %s: %v", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// TLS 1.2 with ECDHE and AEAD only: no CBC suites (Lucky13-style
		// padding oracles) and no static RSA key exchange. TLS 1.3
		// suites are not configurable and all AEAD.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
	if clientCAFile != "" {
		caPEM, err := readPEM(clientCAFile, "client CA")
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("client CA file %s: no PEM certificates found", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

func readPEM(name, what string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s file %s: %v", what, name, err)
	}
	return b, nil
}

func hasBlock(data []byte, ok func(typ string) bool) bool {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return false
		}
		if ok(b.Type) {
			return true
		}
	}
}

// IsAddrInUse reports whether err is a listen failure because the address is taken.
func IsAddrInUse(err error) bool {
	if errors.Is(err, syscall.EADDRINUSE) {
		return true
	}
	// Windows reports WSAEADDRINUSE, which syscall does not name on every platform.
	return err != nil && strings.Contains(err.Error(), "Only one usage of each socket address")
}
