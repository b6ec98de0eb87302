// Stand-in for k6/execution (see state.ts).
import { k6State } from './state.js';

export default {
  scenario: {
    get iterationInTest() {
      return k6State.iterationInTest;
    },
  },
};
