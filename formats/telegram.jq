# Telegram Bot API sendMessage, plain text (no parse_mode: nothing to
# escape), action links as inline keyboard URL buttons.
#   channel "tg" { type = webhook  format = telegram
#     url = "https://api.telegram.org/botTOKEN/sendMessage"
#     vars = { "chat_id=-1001234567890" } }
# Limit: text 1-4096 characters.
def cut($n): if length > $n then .[:$n - 1] + "…" else . end;
# the vendor counts UTF-16 units: a character above U+FFFF counts twice
def cut16($n): explode
  | if (map(if . > 65535 then 2 else 1 end) | add // 0) <= $n then implode
    else reduce .[] as $c ({u: 0, out: [], full: false};
           if .full or .u + (if $c > 65535 then 2 else 1 end) > $n - 1
           then .full = true
           else .u += (if $c > 65535 then 2 else 1 end) | .out += [$c] end)
         | .out | implode + "…" end;
{body: ({
  chat_id: $chat_id,
  text: ([.text, "",
          "Priority: \(.incident.priority // "-")   Status: \(.incident.status // "-")",
          "Root cause: \(.incident.root_cause // "-")"]
         + [(.incident.checks // [])[:20][] | "• \(.name): \(.state)"]
         | join("\n") | cut16(4096)),
  disable_web_page_preview: true
} + (if (.actions // {}) == {} then {} else
  {reply_markup: {inline_keyboard: [[.actions | to_entries[] |
    {text: (.key | ascii_upcase[:1] + .[1:]), url: .value}]]}} end))}
