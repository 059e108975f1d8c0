# ntfy: publish as JSON to the server's root URL.
#   channel "ntfy" { type = webhook  format = ntfy  url = "https://ntfy.sh"
#     vars = { "topic=ops-pages" } }
# (a protected topic: headers = { "Authorization: Bearer tk_…" })
# Limits: message 4096 bytes (ntfy makes longer ones an attachment: we
# cut at 3000 characters), at most 3 action buttons.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
def verb: .event | sub("^incident[.]"; "");
{body: ({
  topic: $topic,
  title: (.incident.title // "" | cut(200)),
  message: ([.text] + [(.incident.checks // [])[:20][] | "\(.name): \(.state)"]
            | join("\n") | cut(3000)),
  priority: (if verb == "resolved" or verb == "acknowledged" then 3
             else {P1: 5, P2: 4, P3: 3, P4: 2, P5: 1}[.incident.priority // "P3"]
                  // 3 end),
  tags: [{opened: "rotating_light", escalated: "rotating_light",
          acknowledged: "eyes", resolved: "white_check_mark",
          updated: "information_source"}[verb] // "bell"]
} + (if (.actions // {}) == {} then {} else
  {actions: [.actions | to_entries[:3][] |
    {action: "view", label: (.key | ascii_upcase[:1] + .[1:]), url: .value,
     clear: true}]} end))}
