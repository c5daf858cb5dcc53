/**
 * A failed call, shown where it happened: the headline the manual uses for it (未获取到绑定信息,
 * 手机号已被绑定, …), the message, and the manual's steps to resolve it.
 */

Component({
  properties: {
    /** A {@link Problem} (components/mcert), or null for nothing. */
    problem: { type: Object, value: null },
  },
});
