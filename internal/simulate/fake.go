package simulate

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// faker draws fake people, places, cars and products from its random source. Its word
// lists are constant strings split on first use, so a command that never simulates pays
// nothing for them at start-up (a faker library's tables are built by package init,
// which every mqttx command would run, `pub` included).
type faker struct {
	r *rand.Rand
}

// words is a list of words split from a constant on first use.
type words func() []string

func wordList(s string) words {
	return sync.OnceValue(func() []string { return strings.Split(s, "|") })
}

var (
	firstNames = wordList("James|Mary|Robert|Patricia|John|Jennifer|Michael|Linda|David|Elizabeth|" +
		"William|Barbara|Richard|Susan|Joseph|Jessica|Thomas|Sarah|Charles|Karen|Daniel|Lisa|" +
		"Matthew|Nancy|Anthony|Betty|Mark|Sandra|Paul|Ashley|Steven|Emily|Andrew|Donna|Joshua|" +
		"Michelle|Kevin|Carol|Brian|Amanda|Emma|Olivia|Noah|Liam|Sofia|Lucas|Mia|Hugo|Lena|Yuki|" +
		"Wei|Aisha|Omar|Ines|Mateo|Chloe|Lars|Anna|Pedro|Fatima")
	lastNames = wordList("Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Rodriguez|" +
		"Martinez|Hernandez|Lopez|Gonzalez|Wilson|Anderson|Thomas|Taylor|Moore|Jackson|Martin|" +
		"Lee|Perez|Thompson|White|Harris|Sanchez|Clark|Ramirez|Lewis|Robinson|Walker|Young|Allen|" +
		"King|Wright|Scott|Torres|Nguyen|Hill|Flores|Green|Adams|Nelson|Baker|Hall|Rivera|" +
		"Campbell|Mitchell|Carter|Roberts|Mueller|Schmidt|Rossi|Dubois|Tanaka|Kim|Silva|Novak|" +
		"Jensen|Kowalski")
	domainWords = wordList("example|mail|inbox|post|corp|net|web|cloud|home|office")
	domainTLDs  = wordList("com|org|net|io|dev|info|biz")
	companies   = wordList("Acme|Globex|Initech|Umbrella|Stark Industries|Wayne Enterprises|" +
		"Hooli|Vandelay Industries|Soylent|Cyberdyne|Tyrell|Wonka Industries|Oscorp|" +
		"Massive Dynamic|Aperture Science|Black Mesa|Gringotts|Monarch|Nakatomi|Pied Piper|" +
		"Dunder Mifflin|Prestige Worldwide|Vehement Capital|Blue Sun|Weyland-Yutani")
	streetNames = wordList("Main|Oak|Pine|Maple|Cedar|Elm|Washington|Lake|Hill|Park|Sunset|" +
		"River|Church|Mill|Spring|Highland|Meadow|Forest|Willow|Lincoln|Jackson|Franklin|" +
		"Chestnut|Walnut|Ridge|Valley|Harbor|Station|Bridge|Garden")
	streetSuffixes = wordList("Street|Avenue|Road|Lane|Drive|Court|Boulevard|Way|Place|Terrace")
	cities         = wordList("Springfield|Riverside|Franklin|Greenville|Bristol|Clinton|" +
		"Fairview|Salem|Madison|Georgetown|Arlington|Ashland|Dover|Oxford|Jackson|Burlington|" +
		"Manchester|Milton|Newport|Auburn|Dayton|Lexington|Milford|Winchester|Hudson|Kingston|" +
		"Mount Vernon|Clayton|Marion|Centerville")
	states = wordList("Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|" +
		"Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|" +
		"Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|" +
		"Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|" +
		"North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|" +
		"South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|" +
		"Wisconsin|Wyoming")
	// countries alternates name and ISO 3166 code.
	countries = wordList("Argentina|AR|Australia|AU|Austria|AT|Belgium|BE|Brazil|BR|Canada|CA|" +
		"Chile|CL|China|CN|Colombia|CO|Czechia|CZ|Denmark|DK|Egypt|EG|Finland|FI|France|FR|" +
		"Germany|DE|Greece|GR|India|IN|Indonesia|ID|Ireland|IE|Italy|IT|Japan|JP|Kenya|KE|" +
		"Mexico|MX|Netherlands|NL|New Zealand|NZ|Nigeria|NG|Norway|NO|Poland|PL|Portugal|PT|" +
		"South Africa|ZA|South Korea|KR|Spain|ES|Sweden|SE|Switzerland|CH|Turkey|TR|" +
		"United Kingdom|GB|United States|US|Vietnam|VN")
	// cars alternates maker and a model of theirs.
	cars = wordList("Toyota|Corolla|Toyota|Camry|Honda|Civic|Honda|Accord|Ford|Focus|Ford|Mustang|" +
		"Volkswagen|Golf|Volkswagen|Passat|BMW|3 Series|BMW|X5|Mercedes-Benz|C-Class|Audi|A4|" +
		"Tesla|Model 3|Tesla|Model Y|Nissan|Leaf|Hyundai|Ioniq 5|Kia|EV6|Volvo|XC60|" +
		"Renault|Zoe|Peugeot|208|Fiat|500|Skoda|Octavia|Subaru|Outback|Mazda|MX-5|" +
		"Chevrolet|Bolt|Porsche|Taycan")
	productAdjectives = wordList("Smart|Compact|Portable|Wireless|Ergonomic|Rugged|Sleek|" +
		"Ultra|Eco|Pro|Mini|Digital|Solar|Quantum|Turbo")
	productMaterials = wordList("Steel|Aluminum|Bamboo|Carbon|Ceramic|Glass|Plastic|Wooden|" +
		"Leather|Titanium")
	productNouns = wordList("Thermostat|Sensor|Lamp|Speaker|Camera|Watch|Router|Charger|" +
		"Kettle|Fan|Heater|Lock|Doorbell|Scale|Purifier|Meter|Hub|Switch|Plug|Tracker")
	colors = wordList("Red|Green|Blue|Yellow|Orange|Purple|Pink|Brown|Black|White|Gray|Cyan|" +
		"Magenta|Lime|Maroon|Navy|Olive|Teal|Silver|Gold|Beige|Coral|Indigo|Ivory|Khaki|" +
		"Lavender|Salmon|Turquoise|Violet|Crimson")
	wordsList = wordList("alpha|bright|calm|delta|echo|field|glow|harbor|island|jolly|kernel|" +
		"lumen|meadow|north|orbit|pulse|quiet|river|signal|tide|unity|vector|wave|yonder|zephyr|" +
		"amber|breeze|cloud|dawn|ember|frost|grove|haze|iris|jade|kite|lotus|mist|nova|opal|" +
		"prism|quartz|rain|stone|thunder|umbra|vale|willow|zenith")
)

func (f *faker) pick(w words) string {
	l := w()
	return l[f.r.IntN(len(l))]
}

// pair returns the i-th pair of a list that alternates two fields.
func (f *faker) pair(w words) (string, string) {
	l := w()
	i := f.r.IntN(len(l)/2) * 2
	return l[i], l[i+1]
}

func (f *faker) FirstName() string { return f.pick(firstNames) }
func (f *faker) LastName() string  { return f.pick(lastNames) }
func (f *faker) Name() string      { return f.FirstName() + " " + f.LastName() }

func (f *faker) Email() string {
	return strings.ToLower(f.FirstName()+"."+f.LastName()) + "@" + f.pick(domainWords) + "." + f.pick(domainTLDs)
}

func (f *faker) Phone() string    { return f.Numerify("##########") }
func (f *faker) Username() string { return f.LastName() + f.Numerify("####") }
func (f *faker) Company() string  { return f.pick(companies) }

// UUID returns a random version 4 UUID.
func (f *faker) UUID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := f.r.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(out)
}

func (f *faker) Street() string {
	return strconv.Itoa(1+f.r.IntN(9999)) + " " + f.pick(streetNames) + " " + f.pick(streetSuffixes)
}

func (f *faker) City() string  { return f.pick(cities) }
func (f *faker) State() string { return f.pick(states) }

func (f *faker) Country() string {
	name, _ := f.pair(countries)
	return name
}

func (f *faker) CountryAbr() string {
	_, code := f.pair(countries)
	return code
}

func (f *faker) Zip() string              { return f.Numerify("#####") }
func (f *faker) Latitude() float64        { return f.r.Float64()*180 - 90 }
func (f *faker) Longitude() float64       { return f.r.Float64()*360 - 180 }
func (f *faker) IPv4Address() string      { return f.dotted(4, 10, '.') }
func (f *faker) MacAddress() string       { return f.dotted(6, 16, ':') }
func (f *faker) Color() string            { return f.pick(colors) }
func (f *faker) Word() string             { return f.pick(wordsList) }
func (f *faker) Numerify(s string) string { return f.replace(s, '#', "0123456789") }
func (f *faker) Lexify(s string) string {
	return f.replace(s, '?', "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
}

func (f *faker) CarMaker() string {
	maker, _ := f.pair(cars)
	return maker
}

func (f *faker) CarModel() string {
	_, model := f.pair(cars)
	return model
}

func (f *faker) ProductName() string {
	return f.pick(productAdjectives) + " " + f.pick(productMaterials) + " " + f.pick(productNouns)
}

// dotted returns n random bytes in base 10 or 16 (two digits), joined by sep.
func (f *faker) dotted(n, base int, sep byte) string {
	b := make([]byte, 0, 3*n+n)
	for i := range n {
		if i > 0 {
			b = append(b, sep)
		}
		v := f.r.IntN(256)
		if base == 16 {
			b = append(b, hexDigits[v>>4], hexDigits[v&15])
		} else {
			b = strconv.AppendInt(b, int64(v), 10)
		}
	}
	return string(b)
}

// replace replaces each mark in s with a random byte of alphabet.
func (f *faker) replace(s string, mark byte, alphabet string) string {
	if strings.IndexByte(s, mark) < 0 {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c == mark {
			b[i] = alphabet[f.r.IntN(len(alphabet))]
		}
	}
	return string(b)
}
