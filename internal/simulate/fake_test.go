package simulate

import (
	"math/rand/v2"
	"net"
	"regexp"
	"strings"
	"testing"
)

// TestFakerShapes checks the form of every fake value over many draws, and that a seed
// repeats them.
func TestFakerShapes(t *testing.T) {
	shapes := map[string]*regexp.Regexp{
		"uuid":  regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
		"mac":   regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`),
		"phone": regexp.MustCompile(`^[0-9]{10}$`),
		"zip":   regexp.MustCompile(`^[0-9]{5}$`),
		"email": regexp.MustCompile(`^[a-z]+\.[a-z]+@[a-z]+\.[a-z]+$`),
		"name":  regexp.MustCompile(`^[A-Z][a-z]+ [A-Z][a-z]+$`),
		"code":  regexp.MustCompile(`^[A-Z]{2}$`),
		"user":  regexp.MustCompile(`^[A-Z][a-z]+[0-9]{4}$`),
		"str":   regexp.MustCompile(`^[0-9]{1,4} [A-Z][a-z]+ [A-Z][a-z]+$`),
		"lex":   regexp.MustCompile(`^[a-zA-Z]{2}-[0-9]{3}$`),
	}
	f := &faker{r: rand.New(rand.NewPCG(7, 7))}
	for range 500 {
		got := map[string]string{
			"uuid": f.UUID(), "mac": f.MacAddress(), "phone": f.Phone(), "zip": f.Zip(),
			"email": f.Email(), "name": f.Name(), "code": f.CountryAbr(), "user": f.Username(),
			"str": f.Street(), "lex": f.Numerify(f.Lexify("??-###")),
		}
		for k, v := range got {
			if !shapes[k].MatchString(v) {
				t.Fatalf("%s = %q, does not match %s", k, v, shapes[k])
			}
		}
		if ip := net.ParseIP(f.IPv4Address()); ip == nil || ip.To4() == nil {
			t.Fatalf("ipv4 %v is not an IPv4 address", ip)
		}
		if lat, lon := f.Latitude(), f.Longitude(); lat < -90 || lat > 90 || lon < -180 || lon > 180 {
			t.Fatalf("latitude %v, longitude %v out of range", lat, lon)
		}
		for _, s := range []string{f.City(), f.State(), f.Country(), f.Company(), f.CarMaker(), f.CarModel(), f.ProductName(), f.Color(), f.Word()} {
			if s == "" || strings.Contains(s, "|") {
				t.Fatalf("bad word %q", s)
			}
		}
	}
	a, b := newFuncs(42), newFuncs(42)
	for range 20 {
		if x, y := a.f.Name()+a.f.UUID(), b.f.Name()+b.f.UUID(); x != y {
			t.Fatalf("same seed, different values: %q and %q", x, y)
		}
	}
}
