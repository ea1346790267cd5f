/** The emoji offered first: the toolbar shows the first TOOLBAR_REACTIONS, the menus all of them. */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

export const TOOLBAR_REACTIONS = 3;

/** What "Add reaction" offers: each one RGI emoji (the server accepts exactly one per reaction). */
export const REACTION_CHOICES: readonly string[] = (
  '👍 👎 ❤️ 🔥 🎉 😂 🤣 😊 😍 🥰 😘 😉 😎 🤔 😮 😢 😭 😡 🙏 👏 ' +
  '🙌 💪 👀 🤝 ✅ ❌ 💯 ⭐ 🚀 ☕ 🍕 🍻 🤷 🤦 😅 😬 🥳 😴 🤯 💡'
).split(' ');
