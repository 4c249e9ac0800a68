package cli

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/rotate"
)

// writeMetrics writes the run's metrics in Prometheus text format for the
// node exporter's textfile collector: each key's expiry and outcome and the
// run's result. Names and ids only, never a secret.
func (a *app) writeMetrics(path, traceID string, rep *rotate.Report, success bool, log *logrus.Entry) {
	if path == "" {
		return
	}
	reg := prometheus.NewRegistry()
	expiry := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_secret_expiry_timestamp_seconds", Help: "When the secret a provider key deploys (or its new one) expires."}, []string{"provider_key", "secret_id"})
	outcome := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_key_outcome", Help: "1 for the outcome of each provider key in the last run."}, []string{"provider_key", "outcome"})
	last := prometheus.NewGauge(prometheus.GaugeOpts{Name: "credrotate_last_run_timestamp_seconds", Help: "When the last run ended."})
	ok := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "credrotate_last_run_success", Help: "1 when the last run succeeded, 0 when it failed."}, []string{"trace_id"})
	reg.MustRegister(expiry, outcome, last, ok)
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
