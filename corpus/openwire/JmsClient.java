// A JMS client on Debian's ActiveMQ client library (activemq-client.jar),
// for the scenarios activemq.jar producer|consumer cannot make: message
// properties carrying traceparent and sw8, JMS correlation ids, topics,
// request/reply over a temporary queue, transactions with a rollback, a
// refused login. Run with Java's source launcher (capture.sh):
//   java -cp '/usr/share/activemq/lib/*' JmsClient.java SCENARIO BROKER_URL
import javax.jms.*;
import org.apache.activemq.ActiveMQConnectionFactory;

public class JmsClient {
  static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  // sw8: sample, trace id, segment id, span id, service, instance, endpoint, peer (base64 parts)
  static final String SW8 = "1-MWYyZDNlNGY1YTZiN2M4ZDllMGYxYTJiM2M0ZDVlNmY=-NWY2ZTdkOGM5YjBhMWYyZTNkNGM1YjZhN2Y4ZTlkMGM=-3-"
      + "b3JkZXJz-aW5zdGFuY2UtMQ==-L3BsYWNlT3JkZXI=-MTI3LjAuMC4xOjYxNzE3";

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    String url = args[1];
    ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url);
    if (scenario.equals("refused-login")) {
      factory.setUserName("app");
      factory.setPassword("wrong");
      try {
        Connection c = factory.createConnection();
        c.start();
        System.out.println("unexpected: login accepted");
        c.close();
      } catch (JMSException e) {
        System.out.println("refused as expected: " + e.getMessage());
      }
      // The refused connection's transport thread would keep the JVM up.
      System.exit(0);
    }
    factory.setUserName("app");
    factory.setPassword("secret");
    Connection connection = factory.createConnection();
    connection.start();
    switch (scenario) {
      case "properties": properties(connection); break;
      case "request-reply": requestReply(connection); break;
      case "transacted": transacted(connection); break;
      case "large": large(connection); break;
      default: throw new IllegalArgumentException(scenario);
    }
    connection.close();
  }

  // A queue and a topic: persistent and non-persistent sends, each with
  // traceparent, sw8 and a JMS correlation id; the messages consumed back.
  static void properties(Connection connection) throws JMSException {
    Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
    for (Destination d : new Destination[] {session.createQueue("orders.traced"), session.createTopic("prices.traced")}) {
      MessageConsumer consumer = session.createConsumer(d);
      MessageProducer producer = session.createProducer(d);
      for (int i = 0; i < 2; ++i) {
        producer.setDeliveryMode(i == 0 ? DeliveryMode.PERSISTENT : DeliveryMode.NON_PERSISTENT);
        TextMessage m = session.createTextMessage("message " + i);
        m.setStringProperty("traceparent", TRACEPARENT);
        m.setStringProperty("sw8", SW8);
        m.setIntProperty("attempt", i);
        m.setJMSCorrelationID("corr-" + i);
        producer.send(m);
      }
      for (int i = 0; i < 2; ++i) consumer.receive(5000);
      producer.close();
      consumer.close();
    }
    session.close();
  }

  // A request on a queue with a temporary reply queue; the reply carries
  // the request's correlation id.
  static void requestReply(Connection connection) throws JMSException {
    Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
    Queue requests = session.createQueue("rpc.requests");
    TemporaryQueue replies = session.createTemporaryQueue();
    MessageConsumer server = session.createConsumer(requests);
    MessageProducer client = session.createProducer(requests);
    TextMessage request = session.createTextMessage("what time is it");
    request.setJMSReplyTo(replies);
    request.setJMSCorrelationID("rpc-42");
    client.send(request);
    Message got = server.receive(5000);
    MessageProducer answer = session.createProducer(got.getJMSReplyTo());
    TextMessage reply = session.createTextMessage("noon");
    reply.setJMSCorrelationID(got.getJMSCorrelationID());
    answer.send(reply);
    MessageConsumer replyConsumer = session.createConsumer(replies);
    replyConsumer.receive(5000);
    replyConsumer.close();
    replies.delete();
    session.close();
  }

  // One text message of 1 MB (activemq.jar producer caps its text size),
  // sent and consumed back.
  static void large(Connection connection) throws JMSException {
    Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
    Queue q = session.createQueue("big");
    MessageConsumer consumer = session.createConsumer(q);
    StringBuilder body = new StringBuilder(1 << 20);
    while (body.length() < (1 << 20)) body.append("0123456789abcdef");
    TextMessage m = session.createTextMessage(body.toString());
    m.setJMSCorrelationID("big-1");
    session.createProducer(q).send(m);
    consumer.receive(10000);
    session.close();
  }

  // Two sends committed, one rolled back; the committed ones consumed in a
  // transaction too.
  static void transacted(Connection connection) throws JMSException {
    Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
    Queue q = session.createQueue("orders.tx");
    MessageProducer producer = session.createProducer(q);
    producer.send(session.createTextMessage("kept 1"));
    producer.send(session.createTextMessage("kept 2"));
    session.commit();
    producer.send(session.createTextMessage("dropped"));
    session.rollback();
    MessageConsumer consumer = session.createConsumer(q);
    consumer.receive(5000);
    consumer.receive(5000);
    session.commit();
    session.close();
  }
}
