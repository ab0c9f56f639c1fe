package awsapi

import (
	"os/exec"
	"strings"
	"testing"
)

// boto3Script drives SQS, SNS and EventBridge the way a Python function's
// own boto3 does (SQS in its JSON protocol, SNS in query).
const boto3Script = `
import sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
sqs, sns, ev = boto3.client("sqs", **kw), boto3.client("sns", **kw), boto3.client("events", **kw)
u = sqs.create_queue(QueueName="py", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
sqs.send_message(QueueUrl=u, MessageBody="hello", MessageAttributes={"k": {"DataType": "Number", "StringValue": "5"}})
sqs.send_message_batch(QueueUrl=u, Entries=[{"Id": "1", "MessageBody": "a"}, {"Id": "2", "MessageBody": "b"}])
msgs = sqs.receive_message(QueueUrl=u, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
print("received", ",".join(m["Body"] for m in msgs), msgs[0]["MessageAttributes"]["k"]["StringValue"])
sqs.delete_message_batch(QueueUrl=u, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])
print("left", sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]["ApproximateNumberOfMessages"])
t = sns.create_topic(Name="news")["TopicArn"]
sns.subscribe(TopicArn=t, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:000000000000:py", Attributes={"RawMessageDelivery": "true"})
sns.publish(TopicArn=t, Message="via sns")
print("fanned", sqs.receive_message(QueueUrl=u)["Messages"][0]["Body"])
print("events", ev.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": "{}"}])["FailedEntryCount"])
`

func TestBoto3Clients(t *testing.T) {
	if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
		t.Skip("python3 with boto3 not available")
	}
	s, hs, inv := newServer(t)
	out, err := exec.Command("python3", "-c", boto3Script, hs.URL).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"received hello,a,b 5", "left 0", "fanned via sns", "events 0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("boto3 output lacks %q:\n%s", want, out)
		}
	}
	s.Bus.Wait()
	if len(inv.calls["onEvent"]) != 1 {
		t.Errorf("the PutEvents entry did not reach its rule's function: %v", inv.calls)
	}
}
