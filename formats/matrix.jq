# Matrix client-server API: PUT …/rooms/ROOM/send/m.room.message/TXNID,
# the idempotency key as the transaction id (a retry is not posted twice;
# characters other than [A-Za-z0-9._~] become "-", so the id is one plain
# path segment).
#   channel "matrix" { type = webhook  format = matrix
#     url = "https://matrix.example.org/_matrix/client/v3/rooms/%21abc%3Aexample.org/send/m.room.message"
#     headers = { "Authorization: Bearer syt_…" } }
# Limit: an event is at most 65536 bytes: the text is cut at 8000
# characters (at most 4 bytes each, twice with the HTML).
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
{method: "PUT",
 path: ("/" + (.idempotency_key | gsub("[^A-Za-z0-9._~]"; "-"))),
 body: {
   msgtype: "m.text",
   body: ([.text] + [(.incident.checks // [])[:20][] | "- \(.name): \(.state)"]
          + [(.actions // {}) | to_entries[] | "\(.key): \(.value)"]
          | join("\n") | cut(8000)),
   format: "org.matrix.custom.html",
   formatted_body: ("<p><strong>" + (.text | cut(2000) | @html) + "</strong></p><ul>"
     + ([(.incident.checks // [])[:20][] | "<li>" + ("\(.name): \(.state)" | cut(200) | @html) + "</li>"] | join(""))
     + "</ul>"
     + ([(.actions // {}) | to_entries[] | "<a href=\"" + (.value | @html) + "\">" + (.key | @html) + "</a>"] | join(" · ")))
 }}
