/** Marks an automated sender (a bot a product's backend created), next to its name. */
export function BotBadge() {
  return (
    <span className="bot-badge" title="Automated sender">
      Bot
    </span>
  );
}
