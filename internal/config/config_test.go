package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := FromEnv(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" || c.DataDir != "./.contacts-data" || c.LogLevel != "info" ||
		c.AccessTokenTTL != time.Hour || c.MaxBodyBytes != 1<<20 || c.DatabaseURL != "" ||
		len(c.KafkaBrokers) != 0 || c.KafkaTopicPrefix != "contacts." || !c.Has(RoleAPI) || !c.Has(RoleRelay) || !c.Has(RoleProjector) || !c.Has(RoleImporter) {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	c, err := FromEnv([]string{"--http-addr", "0.0.0.0:9000"}, env(map[string]string{
		"CONTACTS_HTTP_ADDR": "127.0.0.1:1", "DATABASE_URL": "postgres://u@h/db", "LOG_LEVEL": "debug",
		"CONTACTS_ACCESS_TOKEN_TTL": "15m", "CONTACTS_WRITE_KEY": "k",
		"KAFKA_BROKERS": "k1:9092, k2:9092", "CONTACTS_ROLES": "projector",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "0.0.0.0:9000" || c.DatabaseURL != "postgres://u@h/db" || c.AccessTokenTTL != 15*time.Minute || c.WriteKey != "k" ||
		len(c.KafkaBrokers) != 2 || c.KafkaBrokers[1] != "k2:9092" || c.Has(RoleAPI) || !c.Has(RoleProjector) {
		t.Fatalf("flags do not override the environment: %+v", c)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := FromEnv(nil, env(map[string]string{
		"CONTACTS_HTTP_ADDR": "nope", "DATABASE_URL": "mysql://x", "CONTACTS_JWT_SECRET": "short",
		"LOG_LEVEL": "loud", "CONTACTS_ACCESS_TOKEN_TTL": "soon", "CONTACTS_DB_MAX_CONNS": "1",
		"CONTACTS_ROLES": "api,cook", "KAFKA_BROKERS": "nohost", "ELASTICSEARCH_URL": "es:9200",
	}))
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"CONTACTS_HTTP_ADDR", "DATABASE_URL", "CONTACTS_JWT_SECRET", "LOG_LEVEL", "CONTACTS_ACCESS_TOKEN_TTL", "CONTACTS_DB_MAX_CONNS", "CONTACTS_ROLES", "KAFKA_BROKERS", "ELASTICSEARCH_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestRateLimitSettings(t *testing.T) {
	c, err := FromEnv(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 10 || c.RateLimitBurst != 20 || c.IPRateLimit != 50 || c.IPRateLimitBurst != 100 || c.LoginRateLimit != 5 || len(c.TrustedProxies) != 0 {
		t.Fatalf("rate-limit defaults: %+v", c)
	}
	c, err = FromEnv([]string{"--rate-limit", "2.5"}, env(map[string]string{
		"CONTACTS_RATE_LIMIT": "100", "CONTACTS_RATE_LIMIT_BURST": "5", "CONTACTS_IP_RATE_LIMIT": "0",
		"CONTACTS_LOGIN_RATE_LIMIT": "3", "CONTACTS_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 2.5 || c.RateLimitBurst != 5 || c.IPRateLimit != 0 || c.LoginRateLimit != 3 || len(c.TrustedProxies) != 2 {
		t.Fatalf("rate-limit settings: %+v", c)
	}
	_, err = FromEnv(nil, env(map[string]string{
		"CONTACTS_RATE_LIMIT": "fast", "CONTACTS_IP_RATE_LIMIT": "-1", "CONTACTS_RATE_LIMIT_BURST": "0", "CONTACTS_TRUSTED_PROXIES": "proxy.local",
	}))
	for _, want := range []string{"CONTACTS_RATE_LIMIT must be a number", "CONTACTS_IP_RATE_LIMIT", "CONTACTS_RATE_LIMIT_BURST", "CONTACTS_TRUSTED_PROXIES"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestImportSettings(t *testing.T) {
	c, err := FromEnv(nil, env(map[string]string{"CONTACTS_DATA_DIR": "/d"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ImportDir != "/d/imports" || c.ImportMaxFileBytes != 2<<30 || c.ImportMaxRows != 10_000_000 || c.BulkMaxBodyBytes != 64<<20 {
		t.Fatalf("import defaults: %+v", c)
	}
	c, err = FromEnv([]string{"--import-max-rows", "5"}, env(map[string]string{
		"CONTACTS_IMPORT_DIR": "/i", "CONTACTS_IMPORT_MAX_FILE_BYTES": "1024", "CONTACTS_BULK_MAX_BODY_BYTES": "2048"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ImportDir != "/i" || c.ImportMaxFileBytes != 1024 || c.ImportMaxRows != 5 || c.BulkMaxBodyBytes != 2048 {
		t.Fatalf("import settings: %+v", c)
	}
	_, err = FromEnv(nil, env(map[string]string{"CONTACTS_IMPORT_MAX_FILE_BYTES": "big", "CONTACTS_IMPORT_MAX_ROWS": "0"}))
	if err == nil || !strings.Contains(err.Error(), "CONTACTS_IMPORT_MAX_FILE_BYTES") || !strings.Contains(err.Error(), "CONTACTS_IMPORT_MAX_ROWS") {
		t.Fatalf("bad import settings: %v", err)
	}
}

// TestFlagsAreTypedWithDefaults: help shows each setting's type, default and
// variable; a bad flag value is refused when parsed, naming the flag.
func TestFlagsAreTypedWithDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	AddFlags(fs)
	usage := fs.FlagUsages()
	for _, want := range []string{
		`--http-addr host:port`, `(CONTACTS_HTTP_ADDR) (default 127.0.0.1:8080)`,
		`--db-max-conns int`, `(default 32)`, `--access-token-ttl duration`, `(default 1h)`,
		`--health-addr host:port`, `CONTACTS_HEALTH_ADDR`,
	} {
		if !strings.Contains(usage, want) {
			t.Errorf("usage lacks %q:\n%s", want, usage)
		}
	}
	if err := fs.Parse([]string{"--db-max-conns", "many"}); err == nil || !strings.Contains(err.Error(), "--db-max-conns") {
		t.Errorf("bad flag value: %v", err)
	}
	if _, err := FromEnv(nil, env(map[string]string{"CONTACTS_HEALTH_ADDR": "nope"})); err == nil || !strings.Contains(err.Error(), "CONTACTS_HEALTH_ADDR") {
		t.Errorf("bad CONTACTS_HEALTH_ADDR: %v", err)
	}
	c, err := FromEnv([]string{"--health-addr", "0.0.0.0:8081"}, env(nil))
	if err != nil || c.HealthAddr != "0.0.0.0:8081" {
		t.Errorf("health addr: %q %v", c.HealthAddr, err)
	}
}
func TestRequestLogAndOperatorSettings(t *testing.T) {
	c, err := FromEnv(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if lvl, off, err := ParseRequestLog(c.RequestLog); err != nil || off || lvl.String() != "INFO" || len(c.OperatorAccounts) != 0 {
		t.Fatalf("defaults: %q %v %v %v %v", c.RequestLog, lvl, off, err, c.OperatorAccounts)
	}
	c, err = FromEnv(nil, env(map[string]string{"CONTACTS_REQUEST_LOG": "off",
		"CONTACTS_OPERATOR_ACCOUNTS": "0190A5A4-2222-7000-8000-000000000001, 0190a5a4-2222-7000-8000-000000000002"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, off, _ := ParseRequestLog(c.RequestLog); !off || len(c.OperatorAccounts) != 2 || c.OperatorAccounts[0] != "0190a5a4-2222-7000-8000-000000000001" {
		t.Fatalf("settings: %+v", c)
	}
	if lvl, _, _ := ParseRequestLog("debug"); lvl.String() != "DEBUG" {
		t.Fatalf("debug: %v", lvl)
	}
	_, err = FromEnv(nil, env(map[string]string{"CONTACTS_REQUEST_LOG": "loud", "CONTACTS_OPERATOR_ACCOUNTS": "acme"}))
	for _, want := range []string{"CONTACTS_REQUEST_LOG", "CONTACTS_OPERATOR_ACCOUNTS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestEncryptionKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	b64Key := "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=" // the same 32 bytes
	for _, k := range []string{hexKey, b64Key} {
		c, err := FromEnv(nil, env(map[string]string{"CONTACTS_ENCRYPTION_KEY": k}))
		if err != nil || len(c.MasterKey()) != 32 || c.MasterKey()[0] != 0xab {
			t.Fatalf("%s: %x, %v", k, c.MasterKey(), err)
		}
	}
	for _, bad := range []string{"short", strings.Repeat("ab", 16), "not base64 at all, certainly not 32 bytes!!"} {
		if _, err := FromEnv([]string{"--encryption-key", bad}, env(nil)); err == nil || !strings.Contains(err.Error(), "CONTACTS_ENCRYPTION_KEY") {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	if c, err := FromEnv(nil, env(nil)); err != nil || c.MasterKey() != nil {
		t.Fatalf("unset: %x, %v", c.MasterKey(), err)
	}
}

func TestMetricsSettings(t *testing.T) {
	c, err := FromEnv(nil, env(nil))
	if err != nil || !c.MetricsOn() || c.MetricsAddr != "" {
		t.Fatalf("defaults: %q %q %v", c.Metrics, c.MetricsAddr, err)
	}
	c, err = FromEnv([]string{"--metrics-addr", "127.0.0.1:9090"}, env(map[string]string{"CONTACTS_METRICS": "on"}))
	if err != nil || c.MetricsAddr != "127.0.0.1:9090" || !c.MetricsOn() {
		t.Fatalf("addr: %+v %v", c, err)
	}
	if c, err = FromEnv(nil, env(map[string]string{"CONTACTS_METRICS": "off"})); err != nil || c.MetricsOn() {
		t.Fatalf("off: %q %v", c.Metrics, err)
	}
	for _, bad := range []map[string]string{
		{"CONTACTS_METRICS": "maybe"},
		{"CONTACTS_METRICS_ADDR": "nope"},
		{"CONTACTS_METRICS_ADDR": "127.0.0.1:9090", "CONTACTS_METRICS": "off"},
	} {
		if _, err := FromEnv(nil, env(bad)); err == nil || !strings.Contains(err.Error(), "CONTACTS_METRICS") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
