package simulate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
)

// Num is a number with a fixed count of decimals: what walks, cycles, counters and
// round produce. Templates print it with its decimals ({{.speed}} gives 42.5); num turns
// it into a float64 for comparisons and arithmetic.
type Num struct {
	V float64
	D int
}

// Format prints the number with its decimals, for every verb.
func (n Num) Format(f fmt.State, _ rune) {
	var b [40]byte
	_, _ = f.Write(strconv.AppendFloat(b[:0], n.V, 'f', n.D, 64))
}

// MarshalJSON writes the number with its decimals.
func (n Num) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, n.V, 'f', n.D, 64), nil
}

// funcs is the function set of one device: fake data from its own seeded faker and
// random numbers from its own generator, so a seed gives the same data.
type funcs struct {
	f *faker
	r *rand.Rand
}

// FuncDoc documents one template function.
type FuncDoc struct {
	Name, Args, Doc string
}

// Funcs lists the template functions with their arguments, as documented in
// scenarios/README.md.
var Funcs = []FuncDoc{
	{"name", "", "full name: first and last name"},
	{"firstName", "", "first name"},
	{"lastName", "", "last name"},
	{"email", "", "e-mail address"},
	{"phone", "", "phone number, digits only"},
	{"username", "", "user name"},
	{"company", "", "company name"},
	{"uuid", "", "random UUID v4"},
	{"street", "", "street address"},
	{"city", "", "city"},
	{"state", "", "US state"},
	{"country", "", "country name"},
	{"countryCode", "", "two-letter country code"},
	{"zip", "", "postal code"},
	{"latitude", "", "latitude -90..90"},
	{"longitude", "", "longitude -180..180"},
	{"ipv4", "", "IPv4 address"},
	{"mac", "", "MAC address"},
	{"carMaker", "", "car maker"},
	{"carModel", "", "car model"},
	{"productName", "", "product name"},
	{"color", "", "colour name"},
	{"word", "", "a word"},
	{"numerify", "pattern", "replaces each # with a random digit"},
	{"lexify", "pattern", "replaces each ? with a random letter"},
	{"digits", "n", "n random digits"},
	{"letters", "n", "n random letters"},
	{"hex", "n", "n random lowercase hex digits"},
	{"randInt", "low high", "random whole number in [low, high]"},
	{"randFloat", "low high", "random number in [low, high), print it with round"},
	{"pick", "a b ...", "one of the arguments, chosen at random"},
	{"chance", "p", "true with probability p"},
	{"round", "x decimals", "x with that many decimals, as a number"},
	{"num", "x", "a value as float64, for gt, lt and arithmetic"},
	{"add", "a b", "a + b"},
	{"sub", "a b", "a - b"},
	{"mul", "a b", "a * b"},
	{"div", "a b", "a / b (0 when b is 0)"},
	{"json", "x", "x as JSON: strings quoted and escaped, numbers as they are"},
	{"upper", "s", "s in upper case"},
	{"lower", "s", "s in lower case"},
	{"rfc3339", "t", "time as RFC 3339 with milliseconds, UTC"},
	{"unix", "t", "time as Unix seconds"},
	{"unixMilli", "t", "time as Unix milliseconds"},
}

// FuncNames returns the template function names, sorted.
func FuncNames() []string {
	names := make([]string, 0, len(Funcs))
	for _, f := range Funcs {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return names
}

// validationFuncs parse templates; devices execute them with their own set. Made on
// first use, not at start-up.
var validationFuncs = sync.OnceValue(func() template.FuncMap { return newFuncs(1).Map() })

func newFuncs(seed uint64) *funcs {
	src := rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)
	r := rand.New(src)
	return &funcs{f: &faker{r: r}, r: r}
}

// Map returns the template.FuncMap bound to this device's random sources.
func (fs *funcs) Map() template.FuncMap {
	f, r := fs.f, fs.r
	return template.FuncMap{
		"name":        f.Name,
		"firstName":   f.FirstName,
		"lastName":    f.LastName,
		"email":       f.Email,
		"phone":       f.Phone,
		"username":    f.Username,
		"company":     f.Company,
		"uuid":        f.UUID,
		"street":      f.Street,
		"city":        f.City,
		"state":       f.State,
		"country":     f.Country,
		"countryCode": f.CountryAbr,
		"zip":         f.Zip,
		"latitude":    func() Num { return Num{f.Latitude(), 6} },
		"longitude":   func() Num { return Num{f.Longitude(), 6} },
		"ipv4":        f.IPv4Address,
		"mac":         f.MacAddress,
		"carMaker":    f.CarMaker,
		"carModel":    f.CarModel,
		"productName": f.ProductName,
		"color":       f.Color,
		"word":        f.Word,
		"numerify":    f.Numerify,
		"lexify":      f.Lexify,
		"digits":      func(n int) (string, error) { return fixedRand(r, n, "0123456789") },
		"letters": func(n int) (string, error) {
			return fixedRand(r, n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
		},
		"hex": func(n int) (string, error) { return fixedRand(r, n, "0123456789abcdef") },
		"randInt": func(lo, hi int) (int, error) {
			if lo > hi {
				return 0, fmt.Errorf("randInt %d %d: low is above high", lo, hi)
			}
			return lo + r.IntN(hi-lo+1), nil
		},
		"randFloat": func(lo, hi any) (float64, error) {
			a, err := toFloat(lo)
			if err != nil {
				return 0, err
			}
			b, err := toFloat(hi)
			if err != nil {
				return 0, err
			}
			return a + r.Float64()*(b-a), nil
		},
		"pick": func(first any, rest ...any) any {
			i := r.IntN(len(rest) + 1)
			if i == 0 {
				return first
			}
			return rest[i-1]
		},
		"chance": func(p any) (bool, error) {
			x, err := toFloat(p)
			return r.Float64() < x, err
		},
		"round": func(x any, d int) (Num, error) {
			v, err := toFloat(x)
			if err != nil {
				return Num{}, err
			}
			if d < 0 || d > 9 {
				return Num{}, fmt.Errorf("round: %d decimals: use 0 to 9", d)
			}
			return Num{v, d}, nil
		},
		"num":       toFloat,
		"add":       arith(func(a, b float64) float64 { return a + b }),
		"sub":       arith(func(a, b float64) float64 { return a - b }),
		"mul":       arith(func(a, b float64) float64 { return a * b }),
		"div":       arith(func(a, b float64) float64 { return safeDiv(a, b) }),
		"json":      jsonValue,
		"upper":     strings.ToUpper,
		"lower":     strings.ToLower,
		"rfc3339":   func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") },
		"unix":      func(t time.Time) int64 { return t.Unix() },
		"unixMilli": func(t time.Time) int64 { return t.UnixMilli() },
	}
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func arith(op func(a, b float64) float64) func(a, b any) (float64, error) {
	return func(a, b any) (float64, error) {
		x, err := toFloat(a)
		if err != nil {
			return 0, err
		}
		y, err := toFloat(b)
		if err != nil {
			return 0, err
		}
		return op(x, y), nil
	}
}

func fixedRand(r *rand.Rand, n int, alphabet string) (string, error) {
	if n < 0 || n > 1024 {
		return "", fmt.Errorf("length %d: use 0 to 1024", n)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b), nil
}

// toFloat converts a template value (Num, *Num, int, float, numeric string) to float64.
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case Num:
		return x.V, nil
	case *Num:
		return x.V, nil
	case float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

// jsonValue renders v as JSON text: strings quoted and escaped, numbers and bools bare.
func jsonValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return string(appendJSONString(make([]byte, 0, len(x)+2), x)), nil
	case *Num:
		return strconv.FormatFloat(x.V, 'f', x.D, 64), nil
	case Num:
		return strconv.FormatFloat(x.V, 'f', x.D, 64), nil
	case *time.Time:
		return `"` + x.UTC().Format(time.RFC3339Nano) + `"`, nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
