package promstats

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hotread/hotread/querycache"
)

// DefaultNamespace is the namespace of every metric name when
// [Options.Namespace] is empty.
const DefaultNamespace = "hotread"

// queryLabel is the label that names the source of each cache metric.
const queryLabel = "query"

var (
	// ErrDuplicate is wrapped by the error that [Collector.Add] returns for
	// a query label that was already added, and that [Collector.AddFunc]
	// returns for a metric name already in use.
	ErrDuplicate = errors.New("promstats: already added")
	// ErrInvalid is wrapped by the errors that [Collector.Add] and
	// [Collector.AddFunc] return for an empty label, an invalid metric
	// name, a nil source or function, or an unsupported value type.
	ErrInvalid = errors.New("promstats: invalid argument")
)

// StatsSource is a cache whose counters a [Collector] reads on each
// scrape. [*querycache.Entry] and [*querycache.Singleton] implement it.
// Stats must be safe for concurrent use and should return quickly,
// because it runs during the scrape.
type StatsSource interface {
	Stats() querycache.Stats
}

// StatsFunc adapts a function to a [StatsSource], so that a source can be
// any function that returns [querycache.Stats], for example one that picks
// a field of a larger snapshot. The function is subject to the same rules
// as Stats: it runs during the scrape, so it must be safe for concurrent
// use and return quickly.
type StatsFunc func() querycache.Stats

// Stats returns f().
func (f StatsFunc) Stats() querycache.Stats { return f() }

// Options configures a [Collector]. The zero value selects every default.
type Options struct {
	// Namespace is the first part of every metric name, as in
	// NAMESPACE_cache_hits_total. Empty means [DefaultNamespace].
	Namespace string
}

// Collector is a [prometheus.Collector] that reports the counters of
// querycache entries and the metrics added with [Collector.AddFunc].
// Register it once, for example with [prometheus.MustRegister]. A
// Collector is safe for concurrent use by multiple goroutines.
type Collector struct {
	namespace string
	cache     []cacheMetric

	mu      sync.Mutex
	sources map[string]StatsSource // guarded by mu
	funcs   map[string]funcMetric  // guarded by mu, keyed by full name
}

// cacheMetric is one metric derived from a field of querycache.Stats.
type cacheMetric struct {
	desc      *prometheus.Desc
	valueType prometheus.ValueType
	value     func(querycache.Stats) float64
}

// funcMetric is one metric added with AddFunc.
type funcMetric struct {
	desc      *prometheus.Desc
	valueType prometheus.ValueType
	value     func() float64
}

// New returns a Collector with no sources.
func New(opts Options) *Collector {
	namespace := opts.Namespace
	if namespace == "" {
		namespace = DefaultNamespace
	}
	c := &Collector{
		namespace: namespace,
		sources:   make(map[string]StatsSource),
		funcs:     make(map[string]funcMetric),
	}
	for _, def := range cacheMetricDefs {
		c.cache = append(c.cache, cacheMetric{
			desc: prometheus.NewDesc(
				prometheus.BuildFQName(namespace, "cache", def.name),
				def.help, []string{queryLabel}, nil),
			valueType: def.valueType,
			value:     def.value,
		})
	}
	return c
}

// Add registers s under the label value query, so that every scrape
// reports its counters with query="<query>". It returns an error wrapping
// [ErrInvalid] when query is empty or s is nil, a nil [StatsFunc]
// included, and one wrapping [ErrDuplicate] when query was already added.
func (c *Collector) Add(query string, s StatsSource) error {
	if query == "" {
		return fmt.Errorf("%w: query label is empty", ErrInvalid)
	}
	if f, isFunc := s.(StatsFunc); s == nil || (isFunc && f == nil) {
		return fmt.Errorf("%w: source for query %q is nil", ErrInvalid, query)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.sources[query]; ok {
		return fmt.Errorf("%w: query %q", ErrDuplicate, query)
	}
	c.sources[query] = s
	return nil
}

// metricName matches the part of a metric name that AddFunc takes. Colons
// are left out because Prometheus reserves them for recording rules.
var metricName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// AddFunc adds a metric without labels whose value f returns on each
// scrape. Its full name is the namespace, an underscore and name, for
// example hotread_listener_reconnects_total. valueType is
// [prometheus.CounterValue] or [prometheus.GaugeValue]. A counter's name
// must end in "_total", and its f must return a value that never
// decreases. f runs during the scrape, so it must be safe for concurrent
// use and return quickly.
//
// AddFunc returns an error wrapping [ErrInvalid] for an invalid name, a
// nil f or another value type, and one wrapping [ErrDuplicate] when the
// full name is already in use.
//
// Call AddFunc before registering the Collector: a registry learns a
// Collector's metrics when it registers it, and a pedantic registry
// rejects a metric added later.
func (c *Collector) AddFunc(name, help string, valueType prometheus.ValueType, f func() float64) error {
	if !metricName.MatchString(name) {
		return fmt.Errorf("%w: metric name %q, want letters, digits and underscores", ErrInvalid, name)
	}
	if f == nil {
		return fmt.Errorf("%w: function for metric %q is nil", ErrInvalid, name)
	}
	switch valueType {
	case prometheus.CounterValue:
		if !strings.HasSuffix(name, "_total") {
			return fmt.Errorf("%w: counter name %q does not end in _total", ErrInvalid, name)
		}
	case prometheus.GaugeValue:
	default:
		return fmt.Errorf("%w: value type %v of metric %q, want a counter or a gauge",
			ErrInvalid, valueType, name)
	}
	fqName := prometheus.BuildFQName(c.namespace, "", name)

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.funcs[fqName]; ok || c.isCacheMetric(fqName) {
		return fmt.Errorf("%w: metric %q", ErrDuplicate, fqName)
	}
	c.funcs[fqName] = funcMetric{
		desc:      prometheus.NewDesc(fqName, help, nil, nil),
		valueType: valueType,
		value:     f,
	}
	return nil
}

func (c *Collector) isCacheMetric(fqName string) bool {
	for _, def := range cacheMetricDefs {
		if fqName == prometheus.BuildFQName(c.namespace, "cache", def.name) {
			return true
		}
	}
	return false
}

// Describe sends the descriptors of the cache metrics and of the metrics
// added so far with AddFunc.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.cache {
		ch <- m.desc
	}
	c.mu.Lock()
	funcs := c.funcMetricsLocked()
	c.mu.Unlock()
	for _, m := range funcs {
		ch <- m.desc
	}
}

// Collect reads the Stats of every source and the value of every function
// and sends them as metrics. Sources and functions run without the
// Collector's lock held.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	queries := make([]string, 0, len(c.sources))
	for query := range c.sources {
		queries = append(queries, query)
	}
	sort.Strings(queries)
	sources := make([]StatsSource, len(queries))
	for i, query := range queries {
		sources[i] = c.sources[query]
	}
	funcs := c.funcMetricsLocked()
	c.mu.Unlock()

	for i, s := range sources {
		stats := s.Stats()
		for _, m := range c.cache {
			ch <- prometheus.MustNewConstMetric(m.desc, m.valueType, m.value(stats), queries[i])
		}
	}
	for _, m := range funcs {
		ch <- prometheus.MustNewConstMetric(m.desc, m.valueType, m.value())
	}
}

// funcMetricsLocked returns the metrics added with AddFunc in name order.
func (c *Collector) funcMetricsLocked() []funcMetric {
	names := make([]string, 0, len(c.funcs))
	for name := range c.funcs {
		names = append(names, name)
	}
	sort.Strings(names)
	funcs := make([]funcMetric, len(names))
	for i, name := range names {
		funcs[i] = c.funcs[name]
	}
	return funcs
}

var _ prometheus.Collector = (*Collector)(nil)
