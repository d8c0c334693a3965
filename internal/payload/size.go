package payload

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxSize is the largest payload MQTT can carry: a PUBLISH's remaining length is at most
// 268,435,455 bytes, and the topic and header take some of it.
const MaxSize = 268435455

// ParseSize parses a size such as 512, 512B, 1KB, 1.5KiB or 2MB: B, KB/K and MB/M are
// powers of 1024 (as MQTTX and mosquitto count), KiB and MiB too. The size must be at
// most MaxSize.
func ParseSize(s string) (int, error) {
	in := strings.TrimSpace(s)
	upper := strings.ToUpper(in)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			upper, mult = strings.TrimSpace(strings.TrimSuffix(upper, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(upper, 64)
	if err != nil || upper == "" || strings.ContainsAny(upper, "EXPNI") {
		return 0, fmt.Errorf("%q is not a size: use bytes (512), 512B, 1KB or 2MB", s)
	}
	n := f * mult
	if n < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if n > MaxSize {
		return 0, fmt.Errorf("%q is larger than MQTT's limit of %d bytes (256MB)", s, MaxSize)
	}
	return int(n), nil
}

// Random returns n bytes read from r (a seeded source in tests, crypto/rand otherwise).
func Random(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("random payload: %w", err)
	}
	return b, nil
}
