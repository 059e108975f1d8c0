# Google Chat incoming webhook: a text message, one thread per incident.
#   channel "gchat" { type = webhook  format = googlechat
#     url = "https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…" }
# The thread key needs messageReplyOption, which this adds to the URL's
# query.  Limit: text 4096 characters.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
{path: "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
 content_type: "application/json; charset=UTF-8",
 body: {
   text: (["*" + (.text | cut(1000)) + "*"]
          + [(.incident.checks // [])[:20][] | "• \(.name): \(.state)"]
          + [(.actions // {}) | to_entries[] | "<\(.value)|\(.key)>"]
          | join("\n") | cut(4096)),
   thread: {threadKey: ("tocsin-incident-" + (.incident.id | tostring))}
 }}
