# Discord: Execute Webhook with one embed; pings nobody.
#   channel "discord" { type = webhook  format = discord
#                       url = "https://discord.com/api/webhooks/ID/TOKEN" }
# Limits: content 2000 characters, embed title 256, description 4096,
# at most 25 fields of 1024, 6000 characters in all embeds.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
# the vendor counts UTF-16 units: a character above U+FFFF counts twice
def cut16($n): explode
  | if (map(if . > 65535 then 2 else 1 end) | add // 0) <= $n then implode
    else reduce .[] as $c ({u: 0, out: [], full: false};
           if .full or .u + (if $c > 65535 then 2 else 1 end) > $n - 1
           then .full = true
           else .u += (if $c > 65535 then 2 else 1 end) | .out += [$c] end)
         | .out | implode + "…" end;
def color: {opened: 15548997, escalated: 15548997, acknowledged: 16705372,
  resolved: 5763719}[.event | sub("^incident[.]"; "")] // 3447003;
{body: {
  content: (.text | cut16(2000)),
  allowed_mentions: {parse: []},
  embeds: [{
    title: (.incident.title // "" | cut16(256)),
    description: ([(.incident.checks // [])[:30][] |
      "\(.name) — \(.state) (\(.role))" | cut(120)] | join("\n") | cut(3000)),
    color: color,
    timestamp: .sent_at,
    fields: ([
      {name: "Priority", value: (.incident.priority // "-"), inline: true},
      {name: "Status", value: (.incident.status // "-"), inline: true},
      {name: "Root cause", value: (.incident.root_cause // "-" | cut(1024)),
       inline: true}]
      + [(.actions // {}) | to_entries[] |
         {name: .key, value: ("[open](\(.value))" | cut(1024)),
          inline: true}])
  }]
}}
