package cli

import (
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/inventory"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// writeMetrics writes the run's metrics in Prometheus text format for the
// node exporter's textfile collector: each key's expiry and outcome and the
// run's result. Names and ids only, never a secret.
//
// It also carries the last successful run's time forward from the previous
// file when this run failed, and, for the providers that can list their
// scope, the expiry of every credential credrotate does not manage.
func (a *app) writeMetrics(path, traceID string, rep *rotate.Report, success bool, log *logrus.Entry, unmanagedRows ...inventory.Row) {
	if path == "" {
		return
	}
	reg := prometheus.NewRegistry()
	expiry := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_secret_expiry_timestamp_seconds", Help: "When the secret a provider key deploys (or its new one) expires."}, []string{"provider_key", "secret_id"})
	outcome := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_key_outcome", Help: "1 for the outcome of each provider key in the last run."}, []string{"provider_key", "outcome"})
	last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "credrotate_last_run_timestamp_seconds", Help: "When the last run ended."})
	ok := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_last_run_success", Help: "1 when the last run succeeded, 0 when it failed."}, []string{"trace_id"})
	lastOK := prometheus.NewGauge(prometheus.GaugeOpts{Name: "credrotate_last_success_timestamp_seconds", Help: "When the last successful run ended (carried over by failed runs)."})
	cred := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_credential_expiry_timestamp_seconds", Help: "When a credential that credrotate does not manage expires, as its provider reports."}, []string{"type", "client_id", "secret_id", "managed"})
	reg.MustRegister(expiry, outcome, last, ok, lastOK, cred)
	for _, r := range unmanagedRows {
		if r.ExpiresAt != nil && !r.Managed {
			cred.WithLabelValues(r.Type, r.ClientID, r.SecretID, "false").Set(float64(r.ExpiresAt.Unix()))
		}
	}
	if success {
		lastOK.Set(float64(time.Now().Unix()))
	} else if t, found := previousGauge(path, "credrotate_last_success_timestamp_seconds"); found {
		lastOK.Set(t)
	}
	if rep != nil {
		for _, k := range rep.Results {
			if !k.ExpiresAt.IsZero() {
				expiry.WithLabelValues(string(k.Key), k.SecretID).Set(float64(k.ExpiresAt.Unix()))
			}
			outcome.WithLabelValues(string(k.Key), string(k.Outcome)).Set(1)
		}
	}
	last.Set(float64(time.Now().Unix()))
	v := 0.0
	if success {
		v = 1
	}
	ok.WithLabelValues(traceID).Set(v)
	if err := writeTextfile(path, reg, a.red); err != nil {
		log.WithError(err).Warn("could not write the metrics file")
	}
}

// previousGauge reads the value of an unlabelled gauge from the metrics file
// an earlier run wrote, if it is there.
func previousGauge(path, name string) (float64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(io.LimitReader(f, 16<<20))
	if err != nil {
		return 0, false
	}
	mf, ok := mfs[name]
	if !ok || len(mf.GetMetric()) != 1 || mf.GetMetric()[0].GetGauge() == nil {
		return 0, false
	}
	v := mf.GetMetric()[0].GetGauge().GetValue()
	return v, v > 0
}
