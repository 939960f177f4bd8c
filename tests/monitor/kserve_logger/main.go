// Sends payload-log CloudEvents through KServe's own logger code (pkg/logger at the
// version in go.mod: the dispatcher and workers the agent sidecar runs), so the
// monitor's tests see exactly what KServe sends, including how a URL's user info
// becomes an Authorization header.
//
//	kserve-logger -url URL -n N [-service S] [-namespace NS] [-source POD] [-endpoint E]
//	              [-latency-ms MS] [-id-prefix P]
//
// Each of N requests is one request event (body {"instances": [[i, 1.5]]}) and one
// response event (body {"predictions": [[0.25, 0.75]]}) with the same id, the response
// -latency-ms after the request. It prints one line per event the worker reports
// sending: "status <code>". What KServe v0.20.0's agent really passes in Standard mode
// is -source http://localhost:9081/ (its fallback for the empty --source-uri its pod
// webhook gives) and -endpoint "" (the pod has no serving.kserve.io/endpoint label).
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kserve/kserve/pkg/logger"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func main() {
	target := flag.String("url", "", "the logger URL (logger.url of the InferenceService)")
	count := flag.Int("n", 1, "request/response pairs")
	service := flag.String("service", "fraud", "InferenceService name")
	namespace := flag.String("namespace", "ml", "namespace")
	source := flag.String("source", "fraud-predictor-00001-deployment-5d8f7c9b4-x7k2p", "the pod (source URI)")
	endpoint := flag.String("endpoint", "default", "the endpoint (the agent's --endpoint)")
	latency := flag.Int("latency-ms", 0, "milliseconds between each request's and its response's time")
	prefix := flag.String("id-prefix", "kserve", "event id prefix")
	flag.Parse()
	logURL, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad -url:", err)
		os.Exit(2)
	}
	sourceURI, _ := url.Parse(*source)
	core, seen := observer.New(zapcore.InfoLevel)
	log := zap.New(core).Sugar()
	logger.StartDispatcher(4, nil, &logger.ImmediateBatch{}, log)
	for i := 0; i < *count; i++ {
		request := []byte(fmt.Sprintf(`{"instances": [[%d, 1.5]]}`, i))
		response := []byte(`{"predictions": [[0.25, 0.75]]}`)
		started := time.Now()
		for _, event := range []struct {
			kind string
			body *[]byte
			when time.Time
		}{{logger.CEInferenceRequest, &request, started},
			{logger.CEInferenceResponse, &response, started.Add(time.Duration(*latency) * time.Millisecond)}} {
			_ = logger.QueueLogRequest(logger.LogRequest{
				Url: logURL, Bytes: event.body, ContentType: "application/json", ReqType: event.kind,
				Id: fmt.Sprintf("%s-%d", *prefix, i), SourceUri: sourceURI, InferenceService: *service,
				Namespace: *namespace, Component: "predictor", Endpoint: *endpoint,
				Metadata: map[string][]string{"Content-Type": {"application/json"}}, OccurrenceTime: event.when,
			})
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		sent := seen.FilterMessageSnippet("Sent with status code").AllUntimed()
		failed := seen.FilterMessageSnippet("Send did not return").AllUntimed()
		if len(sent)+len(failed) >= 2**count {
			for _, entry := range sent {
				fmt.Println("status", strings.Fields(strings.TrimPrefix(entry.Message, "Sent with status code "))[0][:3])
			}
			for range failed {
				fmt.Println("status none")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "timed out waiting for KServe's workers")
	os.Exit(3)
}
